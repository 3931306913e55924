// A short seeded simulation through the real `mqpay sim` command: a real broker child process
// (SIGKILLed once and restarted), real agents with their own SQLite state, dropped connections,
// two rogue devices attacking. Every invariant must hold and every attack must be rejected.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../simulator/plan/plan.js';
import { tempDir } from './helpers/broker-fixture.js';

/**
 * The seed decides everything random in the run: the broker's outage after its SIGKILL, which
 * connections drop and when, the rogues' attacks. MQPAY_TEST_SEED replays (or explores) another.
 */
function seedOf(environment: string | undefined, fallback: number): number {
  if (environment === undefined || environment === '') return fallback;
  if (!/^[0-9]{1,10}$/.test(environment) || Number(environment) > 0xffff_ffff) throw new Error(`MQPAY_TEST_SEED must be an integer from 0 to ${0xffff_ffff}, not ${environment}`);
  return Number(environment);
}
const SEED = seedOf(process.env.MQPAY_TEST_SEED, 7);
const ARGS = ['--devices', '12', '--duration', '8', '--malicious', '2', '--kill-broker-every', '4', '--drop-rate', '0.05', '--seed', String(SEED), '--epoch-seconds', '2'];
const DECIMAL = /^(0|[1-9][0-9]*)(\.[0-9]{1,6})?$/;

interface Report {
  seed: number;
  devices: number;
  duration_s: number;
  vouchers: { sent: number; accepted: number; rejected: number; unconfirmed: number };
  attacks: { tried: number; rejected: number; by_kind: Record<string, { tried: number; rejected: number }>; failures: unknown[] };
  settlements: { count: number; amount: string };
  amounts: { accepted: string; settled: string; pending: string };
  invariants: { ledger: boolean; conservation: boolean; accepted_settled_or_pending: boolean };
  faults: { broker_kills: number; drops: number };
  broker: { restarts: number; unexpected_exits: number; acl_violations_logged: number; connection_refusals_logged: number };
  agents: { errors: Record<string, number> };
  ok: boolean;
}

describe(`mqpay sim (seed ${SEED}; replay with MQPAY_TEST_SEED=${SEED})`, () => {
  it('a seeded run with a broker kill, drops and two rogues keeps every invariant and rejects every attack', () => {
    console.log('sim seed', SEED);
    const dir = tempDir('mqpay-sim-test-');
    try {
      const reportFile = join(dir.path, 'report.json');
      const run = spawnSync(process.execPath, ['dist/mqpay.js', 'sim', ...ARGS, '--report', reportFile, '--data', join(dir.path, 'data')], { encoding: 'utf8', timeout: 60_000 });
      expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
      expect(run.stdout).toContain('PASS');
      const report = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;

      expect(report).toMatchObject({ seed: SEED, devices: 12, ok: true, invariants: { ledger: true, conservation: true, accepted_settled_or_pending: true } });
      expect(report.duration_s).toBeGreaterThanOrEqual(8);
      expect(report.vouchers.accepted).toBeGreaterThan(10);
      expect(report.vouchers.sent).toBeGreaterThanOrEqual(report.vouchers.accepted + report.vouchers.rejected);
      expect(report.vouchers.unconfirmed).toBe(0);
      for (const amount of [report.settlements.amount, report.amounts.accepted, report.amounts.settled, report.amounts.pending]) expect(amount).toMatch(DECIMAL);
      // Everything accepted was settled by the end (the final settlement), nothing left pending.
      expect(report.amounts.settled).toBe(report.amounts.accepted);
      expect(report.amounts.pending).toBe('0');
      expect(report.settlements.amount).toBe(report.amounts.settled);

      expect(report.faults.broker_kills).toBe(1);
      expect(report.broker).toMatchObject({ restarts: 1, unexpected_exits: 0 });
      expect(report.faults.drops).toBeGreaterThan(0);
      expect(report.agents.errors).toEqual({});

      expect(report.attacks.tried).toBeGreaterThanOrEqual(6);
      expect(report.attacks.rejected).toBe(report.attacks.tried);
      expect(report.attacks.failures).toEqual([]);
      expect(Object.keys(report.attacks.by_kind).length).toBeGreaterThanOrEqual(5);
      // The broker's own log confirms the access attacks it turned away.
      const access = (kind: string) => report.attacks.by_kind[kind]?.rejected ?? 0;
      expect(report.broker.acl_violations_logged).toBeGreaterThanOrEqual(access('acl-publish') + access('acl-subscribe'));
      expect(report.broker.connection_refusals_logged).toBeGreaterThanOrEqual(access('impersonation'));
    } finally {
      dir.remove();
    }
  });

  it('plans the drops and the kill this test relies on', () => {
    const plan = buildPlan({ seed: SEED, devices: 12, malicious: 2, durationMs: 8_000, killBrokerEverySeconds: 4, dropRate: 0.05, intensity: 1 });
    expect(Array.from({ length: 8 }, (_, second) => plan.drops(second)).flat().length).toBeGreaterThan(0);
    expect(plan.kills().next().value).toMatchObject({ atMs: 4_000 });
  });
});
