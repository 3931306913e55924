// The service's side of redemption and dispute windows [docs/DESIGN.md rule 11], device by
// device over real MQTT: who may redeem and what is refused, a redemption moving the latest
// forward (and the payer's hot path judging against it), what a closing channel refuses, an
// idempotent close, the payee's close settling at once, CHANNEL_CLOSED after, and bounded
// double-sign evidence flagged to operators (ops event, metric, the channel's `doubleSigns`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOUBLE_SIGN_EVIDENCE_PER_CHANNEL_MAX } from '../broker/limits.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import type { DeviceLink } from '../agent/link/link.js';
import type { OpsEvent } from '../shared/ops-events.js';
import { amountOf } from '../shared/amount.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import type { KeyPair } from '../shared/keys.js';
import { nextInbox, payVoucher, random, signedVoucher, startBroker, type RunningBroker } from './helpers/broker-fixture.js';
import { ShiftableClock } from './helpers/broker-adversary.js';

const micro = (n: bigint) => amountOf(n);

describe('broker: redemption and dispute windows', () => {
  const clock = new ShiftableClock();
  let broker: RunningBroker;
  let carKeys: KeyPair;
  let meterKeys: KeyPair;
  let car: DeviceLink;
  let meter: DeviceLink;
  let other: DeviceLink;

  beforeAll(async () => {
    broker = await startBroker({ closeWindowSeconds: 600 }, undefined, { clock });
    carKeys = broker.enrol('car-7', '10');
    meterKeys = broker.enrol('meter-7');
    const otherKeys = broker.enrol('other-7');
    car = await broker.link('car-7', carKeys);
    meter = await broker.link('meter-7', meterKeys);
    other = await broker.link('other-7', otherKeys);
  });
  afterAll(async () => {
    await broker.stop();
  });

  async function open(deposit = '1'): Promise<Uint8Array> {
    const channelId = newChannelId(random);
    await car.request('channel.open', { channel: toHex(channelId), payee: 'meter-7', deposit, durationSeconds: 3_600 });
    return channelId;
  }
  const redeem = (link: DeviceLink, message: { voucher: string; signature: string }) => link.request('channel.redeem', { voucher: message.voucher, signature: message.signature });

  it('only the payee redeems, only the payer\'s signature counts, the deposit caps it; a redemption moves the latest and the payer continues from it', async () => {
    const channelId = await open();
    expect(await payVoucher(car, signedVoucher(carKeys, { channelId, seq: 1n, total: micro(100n) }))).toMatchObject({ type: 'voucher.accepted' });
    const second = signedVoucher(carKeys, { channelId, seq: 2n, total: micro(300n) });
    await expect(redeem(car, second)).rejects.toMatchObject({ code: 'CHANNEL_NOT_PAYEE' });
    await expect(redeem(other, second)).rejects.toMatchObject({ code: 'CHANNEL_NOT_PAYEE' });
    await expect(redeem(meter, signedVoucher(meterKeys, { channelId, seq: 2n, total: micro(300n) }))).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    await expect(redeem(meter, signedVoucher(carKeys, { channelId, seq: 2n, total: micro(1_000_001n) }))).rejects.toMatchObject({ code: 'VOUCHER_ABOVE_DEPOSIT' });
    await expect(redeem(meter, signedVoucher(carKeys, { channelId, seq: 2n, total: micro(100n) }))).rejects.toMatchObject({ code: 'VOUCHER_TOTAL_NOT_INCREASING' });
    await expect(redeem(meter, signedVoucher(carKeys, { channelId: newChannelId(random), seq: 2n, total: micro(1n) }))).rejects.toMatchObject({ code: 'CHANNEL_UNKNOWN' });

    expect(await redeem(meter, second)).toMatchObject({ channel: { seq: '2', total: '0.0003', state: 'open' } });
    expect(await redeem(meter, second)).toMatchObject({ channel: { seq: '2', total: '0.0003' } }); // a repeat changes nothing
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ latestSeq: 2n, latestTotal: 300n, latestRevision: 1 });
    // The payer re-sending the same voucher is answered as accepted; its next one follows it.
    expect(await payVoucher(car, second)).toMatchObject({ type: 'voucher.accepted', seq: '2' });
    expect(await payVoucher(car, signedVoucher(carKeys, { channelId, seq: 3n, total: micro(400n) }))).toMatchObject({ type: 'voucher.accepted', seq: '3' });
    // An older voucher the service already holds is harmless.
    expect(await redeem(meter, second)).toMatchObject({ channel: { seq: '3' } });
  });

  it('a closing channel refuses the payer\'s vouchers and top-ups, keeps its deadline on a repeated close, takes the payee\'s redemption, and the payee\'s close settles at once', async () => {
    const channelId = await open();
    const hex = toHex(channelId);
    expect(await payVoucher(car, signedVoucher(carKeys, { channelId, seq: 1n, total: micro(100n) }))).toMatchObject({ type: 'voucher.accepted' });
    const notice = nextInbox(meter, 'notice', (message) => message.type === 'channel.closing' && message.channel === hex);
    const first = await car.request('channel.close', { channel: hex }) as { channel: { state: string; closesAtMs: number } };
    expect(first.channel.state).toBe('closing');
    expect(await notice).toMatchObject({ closesAtMs: first.channel.closesAtMs, by: 'payer' });
    clock.advance(5_000);
    const again = await car.request('channel.close', { channel: hex }) as { channel: { closesAtMs: number } };
    expect(again.channel.closesAtMs).toBe(first.channel.closesAtMs);

    expect(await payVoucher(car, signedVoucher(carKeys, { channelId, seq: 2n, total: micro(200n) }))).toMatchObject({ type: 'voucher.rejected', error: { code: 'CHANNEL_CLOSING' } });
    await expect(car.request('channel.topup', { channel: hex, amount: '1' })).rejects.toMatchObject({ code: 'CHANNEL_CLOSING' });
    // The payee holds seq 3 (handed over before the close): it counts inside the window.
    expect(await redeem(meter, signedVoucher(carKeys, { channelId, seq: 3n, total: micro(700n) }))).toMatchObject({ channel: { state: 'closing', seq: '3', total: '0.0007' } });

    const closed = await meter.request('channel.close', { channel: hex });
    expect(closed).toMatchObject({ settled: '0.0007', refunded: '0.9993', channel: { state: 'closed' } });
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ state: 'closed', closeRequestedBy: 'payer', settledTotal: 700n });
    await expect(redeem(meter, signedVoucher(carKeys, { channelId, seq: 4n, total: micro(800n) }))).rejects.toMatchObject({ code: 'CHANNEL_CLOSED' });
    await expect(car.request('channel.close', { channel: hex })).rejects.toMatchObject({ code: 'CHANNEL_CLOSED' });
    expect(auditLedger(broker.app.db, { verifySignatures: true }).filter((check) => !check.ok)).toEqual([]);
  });

  it(`keeps at most ${DOUBLE_SIGN_EVIDENCE_PER_CHANNEL_MAX} double-sign rows per channel and flags the payer: ops event, metric, API field`, async () => {
    const channelId = await open();
    const hex = toHex(channelId);
    expect(await payVoucher(car, signedVoucher(carKeys, { channelId, seq: 1n, total: micro(100n) }))).toMatchObject({ type: 'voucher.accepted' });
    const events: OpsEvent[] = [];
    const stop = broker.app.service.telemetry.on((event) => {
      if (event.kind === 'ops.event' && event.event.type === 'device.double-signed') events.push(event.event);
    });
    const before = broker.app.service.telemetry.doubleSigns;
    try {
      // Through the payee's redemption: refused, and the evidence is kept all the same.
      await expect(redeem(meter, signedVoucher(carKeys, { channelId, seq: 1n, total: micro(150n) }))).rejects.toMatchObject({ code: 'VOUCHER_DOUBLE_SIGNED' });
      // Through the payer's own publications, past the bound.
      for (let n = 0n; n < BigInt(DOUBLE_SIGN_EVIDENCE_PER_CHANNEL_MAX) + 3n; n++) {
        expect(await payVoucher(car, signedVoucher(carKeys, { channelId, seq: 1n, total: micro(200n + n) }))).toMatchObject({ type: 'voucher.rejected', error: { code: 'VOUCHER_DOUBLE_SIGNED' } });
      }
    } finally {
      stop();
    }
    expect(getChannel(broker.app.db, channelId)?.doubleSigns).toBe(DOUBLE_SIGN_EVIDENCE_PER_CHANNEL_MAX);
    expect(broker.app.service.telemetry.doubleSigns - before).toBe(DOUBLE_SIGN_EVIDENCE_PER_CHANNEL_MAX);
    expect(events).toHaveLength(DOUBLE_SIGN_EVIDENCE_PER_CHANNEL_MAX);
    expect(events[0]).toMatchObject({ type: 'device.double-signed', device: 'car-7', channel: hex, seq: '1' });
    const evidence = broker.app.db.prepare('SELECT count(*) AS n FROM double_signs WHERE channel = ?').get(channelId) as { n: bigint };
    expect(evidence.n).toBe(BigInt(DOUBLE_SIGN_EVIDENCE_PER_CHANNEL_MAX));
  });
});
