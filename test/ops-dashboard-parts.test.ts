// The dashboard's pure parts under Node (chart geometry, exact totals, display formats), and its
// browser code type-checked with the DOM library (broker/operator/dashboard/tsconfig.json), which the
// root typecheck leaves out so Node code never sees DOM types.
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { areaPath, clipStep, linearScale, linePath, niceTicks, stepPath, windowStart } from '../broker/operator/dashboard/chart-math.js';
import { ALARMS_KEPT_MAX, DashboardState, FEED_ITEMS_MAX } from '../broker/operator/dashboard/dashboard-state.js';
import { deviceOfHash, devicePath } from '../broker/operator/dashboard/device-route.js';
import type { OpsAlarm } from '../shared/ops-events.js';
import { PROTOCOL_VERSION } from '../shared/schemas.js';
import { compactNumber, displayAmount } from '../broker/operator/dashboard/format.js';

describe('dashboard chart geometry', () => {
  it('picks round ticks from 0 up to at least the maximum', () => {
    expect(niceTicks(97)).toEqual([0, 50, 100]);
    expect(niceTicks(0.59)).toEqual([0, 0.2, 0.4, 0.6]);
    expect(niceTicks(4)).toEqual([0, 1, 2, 3, 4]);
    expect(niceTicks(0)).toEqual([0, 1]);
  });

  it('draws lines, steps and areas in pixel space', () => {
    const sx = linearScale([0, 10], [0, 100]);
    const sy = linearScale([0, 1], [50, 0]);
    expect(linePath([{ x: 0, y: 0 }, { x: 5, y: 1 }], sx, sy)).toBe('M0 50 L50 0');
    expect(stepPath([{ x: 0, y: 0 }, { x: 5, y: 1 }], sx, sy, 10)).toBe('M0 50 L50 50 L50 0 L100 0');
    expect(areaPath('M0 50 L50 0', 0, 50, 50)).toBe('M0 50 L50 0 L50 50 L0 50 Z');
    expect(stepPath([], sx, sy, 10)).toBe('');
  });

  it('starts a running total at the window edge with what came before', () => {
    expect(clipStep([{ x: 5, y: 1 }, { x: 20, y: 3 }], 10)).toEqual([{ x: 10, y: 1 }, { x: 20, y: 3 }]);
    expect(clipStep([{ x: 20, y: 3 }], 10)).toEqual([{ x: 10, y: 0 }, { x: 20, y: 3 }]);
    expect(clipStep([], 10)).toEqual([]);
  });

  it('spans the data there is, within the minimum and maximum window', () => {
    expect(windowStart(100_000, undefined, 15_000, 300_000)).toBe(85_000);
    expect(windowStart(100_000, 95_000, 15_000, 300_000)).toBe(85_000);
    expect(windowStart(100_000, 40_000, 12_000, 300_000)).toBe(39_000);
    expect(windowStart(1_000_000, 1_000, 15_000, 300_000)).toBe(700_000);
  });
});

describe('dashboard state and formats', () => {
  it('keeps settlements once, newest first, with an exact running total', () => {
    const state = new DashboardState();
    const item = (id: string, amount: string, createdAtMs: number) => ({ id, reason: 'epoch', channels: 1, amount, fee: '0', createdAtMs });
    expect(state.addSettlement(item('a', '0.1', 1_000))).toBe(true);
    expect(state.addSettlement(item('b', '0.2', 2_000))).toBe(true);
    expect(state.addSettlement(item('a', '0.1', 1_000))).toBe(false);
    expect(state.feed.map((s) => s.id)).toEqual(['b', 'a']);
    // 0.1 + 0.2 is exactly 0.3 in micro-units, not 0.30000000000000004.
    expect(state.settledTotal()).toBe('0.3');
    expect(state.settledPoints()).toEqual([{ x: 1_000, y: 0.1 }, { x: 2_000, y: 0.3 }]);
    for (let i = 0; i < FEED_ITEMS_MAX + 10; i++) state.addSettlement(item(`s${i}`, '18446744073709.551615', 10_000 + i));
    expect(state.feed).toHaveLength(FEED_ITEMS_MAX);
    expect(state.feed[0]?.id).toBe(`s${FEED_ITEMS_MAX + 9}`);
    expect(state.settledTotal()).toBe('1844674407370955.1615'); // 100 x (2^64-1) micro: past u64, still exact
  });

  it('formats amounts exactly and axis numbers compactly', () => {
    expect(displayAmount('18446744073709.551615')).toBe('18,446,744,073,709.551615');
    expect(displayAmount('0.000125')).toBe('0.000125');
    expect(displayAmount('1000')).toBe('1,000');
    expect(compactNumber(2_500_000)).toBe('2.5M');
    expect(compactNumber(15_000)).toBe('15k');
    expect(compactNumber(0.25)).toBe('0.25');
    expect(compactNumber(0)).toBe('0');
  });
});

describe('dashboard alarms and links', () => {
  const counts = { authFailures: 0, aclViolations: 0, vouchersRejected: {}, doubleSigns: 0, clientsDropped: 0, packetsOversized: 0, storageFaults: 0, storageLocked: 0 };
  const alarm = (client: string, atMs: number): OpsAlarm => ({ kind: 'acl.violation', client, code: null, detail: null, atMs });

  it('puts pushed alarms (oldest first) on top of the snapshot (newest first), bounded', () => {
    const state = new DashboardState();
    state.setAlarms({ counts, recent: [alarm('b', 2), alarm('a', 1)] });
    state.addAlarms({ v: PROTOCOL_VERSION, type: 'alarms', counts: { ...counts, aclViolations: 4 }, recent: [alarm('c', 3), alarm('d', 4)], dropped: 0, atMs: 5 });
    expect(state.alarms.map((a) => a.client)).toEqual(['d', 'c', 'b', 'a']);
    expect(state.alarmCounts?.aclViolations).toBe(4);
    state.addAlarms({ v: PROTOCOL_VERSION, type: 'alarms', counts, recent: Array.from({ length: ALARMS_KEPT_MAX + 5 }, (_, i) => alarm(`x${i}`, 10 + i)), dropped: 3, atMs: 500 });
    expect(state.alarms).toHaveLength(ALARMS_KEPT_MAX);
    expect(state.alarms[0]?.client).toBe(`x${ALARMS_KEPT_MAX + 4}`);
  });

  it('routes #/device/{id} to the device page, anything else to the overview', () => {
    expect(deviceOfHash(devicePath('car-1'))).toBe('car-1');
    expect(deviceOfHash('#/device/a.b_c-9')).toBe('a.b_c-9');
    expect(deviceOfHash('')).toBeNull();
    expect(deviceOfHash('#')).toBeNull();
    expect(deviceOfHash('#/device/')).toBeNull();
    expect(deviceOfHash('#/device/a/b')).toBeNull();
    expect(deviceOfHash('#/device/%E0%A4%A')).toBeNull();
  });
});

describe('dashboard browser code', () => {
  it('type-checks with the DOM library under the root strictness', async () => {
    const result = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', 'broker/operator/dashboard/tsconfig.json'], { timeout: 50_000 }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, output: stdout + stderr });
      });
    });
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });
});
