// The alarms behind the dashboard's panel, through a real broker: a refused login, an ACL
// violation, a forged voucher, an oversized packet and a full disk (SQLite's max_page_count, as
// in broker-disk-full.test.ts) each become an incident naming its client and code. The live
// `alarms` event is strict (opsAlarmsSchema), carries the telemetry's counters, and stays
// bounded under a flood: the incidents it carries plus those it says it dropped add up to what
// happened, and GET /api/alarms keeps only the recent ones. Prometheus counts the new kinds too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALARMS_PER_PUSH_MAX, ALARMS_RECENT_MAX } from '../broker/limits.js';
import { alarmsView } from '../broker/operator/http/dashboard-views.js';
import { amountOf } from '../shared/amount.js';
import { opsAlarmsSchema, type OpsAlarm } from '../shared/ops-events.js';
import { outboxTopic } from '../shared/topics.js';
import { connectPassword, deviceClient, openChannel, publishHeader, rawConnection, tryConnect } from './helpers/broker-adversary.js';
import { OPERATOR_TOKEN, payVoucher, signedVoucher } from './helpers/broker-fixture.js';
import { startOpsBroker, type OpsBroker } from './helpers/ops-fixture.js';
import { openLiveEvents, type LiveEventReader } from './helpers/ops-sse.js';

let broker: OpsBroker;
let live: LiveEventReader;

beforeAll(async () => {
  // Every voucher kept, so that vouchers grow the file until the disk test fills it.
  broker = await startOpsBroker({}, { vouchersKeptPerChannel: Number.MAX_SAFE_INTEGER });
  live = await openLiveEvents(broker.base, OPERATOR_TOKEN);
});
afterAll(async () => {
  live.close();
  await broker.stop();
});

/** Every incident the live stream has pushed so far, oldest first, each push parsed strictly. */
function pushed(): { incidents: OpsAlarm[]; dropped: number } {
  const pushes = live.events.filter((event) => event.event === 'alarms').map((event) => opsAlarmsSchema.parse(JSON.parse(event.data)));
  return { incidents: pushes.flatMap((push) => push.recent), dropped: pushes.reduce((sum, push) => sum + push.dropped, 0) };
}

describe('alarms', () => {
  it('reports attacks live, each naming its client and code, with the telemetry counters', async () => {
    // A login with a wrong key: refused.
    const keys = broker.enrol('car-1', '10');
    const impostor = broker.enrol('impostor');
    const refused = await tryConnect(broker.url, { clientId: 'car-1', username: 'car-1', password: connectPassword({ device: 'car-1', broker: broker.app.config.brokerId, keys: impostor }), reconnectPeriod: 0 });
    expect(refused.connected).toBe(false);
    // A forged voucher (car-1's channel, another key) and a publish into another device's outbox.
    broker.enrol('meter-1');
    const car = await broker.link('car-1', keys);
    const channelId = await openChannel(car, 'meter-1', '5');
    const rogue = await deviceClient(broker, 'impostor', impostor, { reconnectPeriod: 0 });
    const forged = signedVoucher(impostor, { channelId, seq: 1n, total: amountOf(100n) });
    expect(await payVoucher(car, forged)).toMatchObject({ type: 'voucher.rejected', error: { code: 'SIGNATURE_INVALID' } });
    rogue.publish(outboxTopic('car-1', 'voucher'), Buffer.from(JSON.stringify(forged)), { qos: 0 });
    // A packet announcing more than the size limit.
    const raw = await rawConnection(broker.mqttPort);
    raw.socket.write(publishHeader(broker.app.config.packetBytesMax + 1));
    expect(await raw.closed()).toBe(true);

    const push = opsAlarmsSchema.parse(await live.next('alarms', (data) => data.counts.aclViolations >= 1 && data.counts.packetsOversized >= 1 && data.counts.authFailures >= 1));
    const telemetry = broker.app.service.telemetry;
    expect(push.counts).toMatchObject({ authFailures: telemetry.authFailures, aclViolations: telemetry.aclViolations, packetsOversized: 1, vouchersRejected: { SIGNATURE_INVALID: 1 } });
    const incidents = pushed().incidents;
    expect(incidents).toContainEqual(expect.objectContaining({ kind: 'auth.failure', client: 'car-1', code: 'SIGNATURE_INVALID' }));
    expect(incidents).toContainEqual(expect.objectContaining({ kind: 'voucher.rejected', client: 'car-1', code: 'SIGNATURE_INVALID' }));
    expect(incidents).toContainEqual(expect.objectContaining({ kind: 'acl.violation', client: 'impostor' }));
    expect(incidents).toContainEqual(expect.objectContaining({ kind: 'packet.oversized', client: null }));
    expect((await broker.api('GET', '/metrics')).text).toMatch(/^mqpay_packets_oversized_total 1$/m);
    rogue.end(true);
  });

  it('reports a full disk as a storage fault', async () => {
    const keys = broker.enrol('car-2', '50');
    broker.enrol('meter-2');
    const car = await broker.link('car-2', keys);
    const channelId = await openChannel(car, 'meter-2', '10');
    await broker.app.service.flush();
    const normalMax = broker.app.db.pragma('max_page_count', { simple: true }) as bigint;
    broker.app.db.pragma(`max_page_count = ${broker.app.db.pragma('page_count', { simple: true }) as bigint}`);
    try {
      let seq = 0n;
      let code: unknown = null;
      while (code !== 'SERVICE_UNAVAILABLE' && seq < 20_000n) {
        seq += 1n;
        const reply = await payVoucher(car, signedVoucher(keys, { channelId, seq, total: amountOf(seq) }));
        code = (reply.error as { code?: string } | undefined)?.code ?? null;
      }
      expect(code).toBe('SERVICE_UNAVAILABLE');
    } finally {
      broker.app.db.pragma(`max_page_count = ${normalMax}`);
    }
    const push = opsAlarmsSchema.parse(await live.next('alarms', (data) => data.counts.storageFaults >= 1));
    expect(push.counts.storageFaults).toBe(broker.app.service.telemetry.storageFaults);
    expect(pushed().incidents).toContainEqual(expect.objectContaining({ kind: 'storage.fault', code: 'SERVICE_UNAVAILABLE', detail: 'disk-full' }));
    expect((await broker.api('GET', '/metrics')).text).toMatch(new RegExp(`^mqpay_storage_faults_total ${push.counts.storageFaults}$`, 'm'));
  });

  it('stays bounded under a flood: what each push carries plus what it dropped adds up', async () => {
    const before = pushed();
    const total = (counts: { vouchersRejected: Record<string, number> }) => Object.values(counts.vouchersRejected).reduce((a, b) => a + b, 0);
    const startRejected = broker.app.service.telemetry.rejectedTotal();
    const flood = ALARMS_RECENT_MAX + ALARMS_PER_PUSH_MAX;
    const keys = broker.enrol('car-3', '10');
    const car = await broker.link('car-3', keys);
    // Not vouchers at all: each is refused MESSAGE_INVALID before any store work.
    await Promise.all(Array.from({ length: flood }, () => car.publish('voucher', { junk: true })));
    await live.next('alarms', (data) => total(data.counts) >= startRejected + flood, 10_000);
    const after = pushed();
    const flooded = after.incidents.length - before.incidents.length + (after.dropped - before.dropped);
    expect(flooded).toBeGreaterThanOrEqual(flood);
    const pushes = live.events.filter((event) => event.event === 'alarms').map((event) => opsAlarmsSchema.parse(JSON.parse(event.data)));
    expect(Math.max(...pushes.map((p) => p.recent.length))).toBeLessThanOrEqual(ALARMS_PER_PUSH_MAX);
    const snapshot = alarmsView.parse((await broker.api('GET', '/api/alarms')).json);
    expect(snapshot.recent).toHaveLength(ALARMS_RECENT_MAX);
    expect(snapshot.recent[0]).toMatchObject({ kind: 'voucher.rejected', client: 'car-3', code: 'MESSAGE_INVALID' });
    expect(snapshot.recent.map((alarm) => alarm.atMs)).toEqual([...snapshot.recent.map((alarm) => alarm.atMs)].sort((a, b) => b - a));
  });
});
