// The voucher log follows channels (broker/store/sqlite/voucher-log.ts): each channel keeps its
// newest VOUCHERS_KEPT_PER_CHANNEL vouchers, over real MQTT and a real SQLite file. What the
// evidence rules need stays [docs/DESIGN.md rule 11]: the channel's latest voucher, the exact
// voucher each settlement settled, double-sign evidence, all re-verified by the audit with
// signatures; a re-send inside the window is answered as before (accepted, or a double-sign),
// one older than it is refused and moves nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VOUCHERS_KEPT_PER_CHANNEL } from '../broker/limits.js';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { countDoubleSigns, getChannel } from '../broker/store/sqlite/channels.js';
import { channelEvidence } from '../broker/store/sqlite/evidence.js';
import type { DeviceLink } from '../agent/link/link.js';
import { amountOf } from '../shared/amount.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import type { KeyPair } from '../shared/keys.js';
import { payVoucher, random, settledResult, signedVoucher, startBroker, type RunningBroker } from './helpers/broker-fixture.js';

const PAYMENTS = 12;
const STEP = 1_000n;

describe('broker: the voucher log follows channels', () => {
  let broker: RunningBroker;
  let carKeys: KeyPair;
  let car: DeviceLink;
  let channelId: Uint8Array;

  const loggedSeqs = (): bigint[] =>
    (broker.app.db.prepare('SELECT v.seq FROM vouchers v JOIN channels c ON c.num = v.channel WHERE c.id = ? ORDER BY v.seq').all(channelId) as { seq: bigint }[]).map((row) => row.seq);
  const voucherAt = (seq: bigint, total = BigInt(seq) * STEP) => signedVoucher(carKeys, { channelId, seq, total: amountOf(total) });
  const range = (from: number, to: number): bigint[] => Array.from({ length: to - from + 1 }, (_, i) => BigInt(from + i));

  beforeAll(async () => {
    broker = await startBroker();
    carKeys = broker.enrol('car-log', '10');
    broker.enrol('meter-log');
    car = await broker.link('car-log', carKeys);
    channelId = newChannelId(random);
    await car.request('channel.open', { channel: toHex(channelId), payee: 'meter-log', deposit: '1', durationSeconds: 3_600 });
    for (let seq = 1; seq <= PAYMENTS; seq++) expect(await payVoucher(car, voucherAt(BigInt(seq)))).toMatchObject({ type: 'voucher.accepted' });
  });
  afterAll(async () => {
    await broker.stop();
  });

  it(`keeps the newest ${VOUCHERS_KEPT_PER_CHANNEL} vouchers of a channel, the latest among them`, () => {
    expect(loggedSeqs()).toEqual(range(PAYMENTS - VOUCHERS_KEPT_PER_CHANNEL + 1, PAYMENTS));
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ latestSeq: BigInt(PAYMENTS), latestTotal: BigInt(PAYMENTS) * STEP });
    expect(auditLedger(broker.app.db, { verifySignatures: true }).filter((check) => !check.ok)).toEqual([]);
  });

  it('answers a re-send inside the window as before: the same voucher accepted, another total a double-sign kept as evidence', async () => {
    const inside = BigInt(PAYMENTS - VOUCHERS_KEPT_PER_CHANNEL + 1);
    expect(await payVoucher(car, voucherAt(inside))).toMatchObject({ type: 'voucher.accepted', seq: inside.toString() });
    expect(await payVoucher(car, voucherAt(inside, inside * STEP + 1n))).toMatchObject({ type: 'voucher.rejected', error: { code: 'VOUCHER_DOUBLE_SIGNED' } });
    expect(countDoubleSigns(broker.app.db, channelId)).toBe(1);
    expect(loggedSeqs()).toEqual(range(PAYMENTS - VOUCHERS_KEPT_PER_CHANNEL + 1, PAYMENTS));
  });

  it('refuses a re-send older than the window, moving nothing', async () => {
    expect(await payVoucher(car, voucherAt(1n))).toMatchObject({ type: 'voucher.rejected', error: { code: 'VOUCHER_SEQ_NOT_INCREASING' } });
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ latestSeq: BigInt(PAYMENTS), latestTotal: BigInt(PAYMENTS) * STEP });
  });

  it('a settlement keeps the exact voucher it settled, re-verified with its signature, and payments go on', async () => {
    const settled = await settledResult(broker.app.service.settleNow());
    expect(settled.channelCount).toBe(1);
    const evidence = channelEvidence(broker.app.db, channelId);
    expect(evidence?.settled.map((s) => [s.seq, s.total])).toEqual([[String(PAYMENTS), String(BigInt(PAYMENTS) * STEP)]]);
    expect(evidence?.latest).toMatchObject({ seq: String(PAYMENTS) });
    expect(evidence?.doubleSigns).toHaveLength(1);
    expect(await payVoucher(car, voucherAt(BigInt(PAYMENTS + 1)))).toMatchObject({ type: 'voucher.accepted' });
    expect(loggedSeqs()).toEqual(range(PAYMENTS - VOUCHERS_KEPT_PER_CHANNEL + 2, PAYMENTS + 1));
    expect(auditLedger(broker.app.db, { verifySignatures: true }).filter((check) => !check.ok)).toEqual([]);
  });
});
