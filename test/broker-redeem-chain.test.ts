// channel.redeemChain (v3.1), device by device over real MQTT and a real SQLite file: the payer
// streams ticks through the broker, closes the channel and vanishes; the payee, inside the dispute
// window, redeems the chain it holds (the checkpoint and a higher link the payer handed it
// offline), then a second chain the service never saw. Settlement at the deadline pays exactly
// checkpoint + highest index x price, and `ledger check --verify-signatures` proves it. Refusals
// (a link off the chain, past its end, past the deposit, another object at the latest seq, the
// payer redeeming, after the close) change nothing.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeviceLink } from '../agent/link/link.js';
import { walletAccount } from '../broker/store/accounts.js';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { balanceOf } from '../broker/store/sqlite/ledger.js';
import { amountOf, formatAmount, parseAmount } from '../shared/amount.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import { TICK_SKIP_MAX } from '../shared/limits.js';
import type { KeyPair } from '../shared/keys.js';
import { decodeSignedCheckpoint } from '../shared/tick-frames.js';
import { ShiftableClock } from './helpers/broker-adversary.js';
import { random, startBroker, type RunningBroker } from './helpers/broker-fixture.js';
import { seededInt, seededRandom, testSeed } from './helpers/seed.js';
import { TickVerdicts, testChain, tickFrame, type TestChain } from './helpers/tick-payer.js';

const SEED = testSeed(20_261_205);
const WINDOW_S = 600;
const seededBytes = (length: number, next: () => number): Uint8Array => Uint8Array.from({ length }, () => seededInt(next, 0, 256));

/** The redeem request for link `index` of `test`'s chain (its signed checkpoint as the payer published it). */
function redeemParams(test: TestChain, index: number, link = test.chain.link(index)) {
  const signed = decodeSignedCheckpoint(test.frame);
  return { checkpoint: toHex(signed.bytes), signature: toHex(signed.signature), index, link: toHex(link) };
}

describe(`broker: a payee redeems a hash chain when the payer is gone (seed ${SEED})`, () => {
  const clock = new ShiftableClock();
  let broker: RunningBroker;
  let carKeys: KeyPair;
  let car: DeviceLink;
  let charger: DeviceLink;
  beforeEach(async () => {
    broker = await startBroker({ closeWindowSeconds: WINDOW_S }, undefined, { clock });
    carKeys = broker.enrol('car-1', '10');
    car = await broker.link('car-1', carKeys);
    charger = await broker.link('charger-1', broker.enrol('charger-1'));
  });
  afterEach(async () => {
    await broker.stop();
  });

  it('inside the dispute window: the held link and an unseen chain count, settlement pays checkpoint + index x price exactly', async () => {
    const next = seededRandom(SEED);
    const channelId = newChannelId(random);
    const hex = toHex(channelId);
    await car.request('channel.open', { channel: hex, payee: 'charger-1', deposit: '2', durationSeconds: 3_600 });
    const first = testChain(carKeys.secretKey, { channelId, seq: 1n, seed: seededBytes(32, next), length: 100, total: '0.2', price: '0.01' });
    const verdicts = new TickVerdicts(car);
    await car.publishFrame('tick', first.frame);
    expect(await verdicts.next(channelId, 1n, 0)).toMatchObject({ code: null });
    const online = seededInt(next, 10, 30);
    const last = verdicts.next(channelId, 1n, online);
    for (let index = 1; index <= online; index++) void car.publishFrame('tick', tickFrame(first, index));
    expect(await last).toMatchObject({ code: null });
    const closing = await car.request('channel.close', { channel: hex }) as { channel: { state: string } };
    expect(closing.channel.state).toBe('closing');
    await car.close(); // the payer is gone

    const redeem = (params: ReturnType<typeof redeemParams>, link = charger) => link.request('channel.redeemChain', params);
    const held = seededInt(next, online + 1, 90); // ticks the payer handed over offline
    await expect(redeem(redeemParams(first, held + 1, first.chain.link(held)))).rejects.toMatchObject({ code: 'TICK_PREIMAGE_INVALID' });
    await expect(redeem(redeemParams(first, 101, first.chain.link(100)))).rejects.toMatchObject({ code: 'TICK_INDEX_INVALID' });
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ latestSeq: 1n, latestTotal: parseAmount('0.2') + BigInt(online) * 10_000n });
    const raised = await redeem(redeemParams(first, held));
    expect(raised).toMatchObject({ channel: { state: 'closing', seq: '1', total: micro(200_000n + BigInt(held) * 10_000n) } });
    // A lower link again changes nothing, however often.
    expect(await redeem(redeemParams(first, online))).toMatchObject({ channel: { total: micro(200_000n + BigInt(held) * 10_000n) } });

    // A second chain, signed by the payer before it vanished and never published: it starts at the total held.
    const heldTotal = 200_000n + BigInt(held) * 10_000n;
    const second = testChain(carKeys.secretKey, { channelId, seq: 2n, seed: seededBytes(32, next), length: 100, total: micro(heldTotal), price: '0.02' });
    const pastDeposit = Number((2_000_000n - heldTotal) / 20_000n) + 1;
    await expect(redeem(redeemParams(second, pastDeposit))).rejects.toMatchObject({ code: 'TICK_ABOVE_DEPOSIT' });
    const otherAtSeq2 = testChain(carKeys.secretKey, { channelId, seq: 2n, seed: seededBytes(32, next), length: 5, total: micro(heldTotal), price: '0.01' });
    const secondIndex = seededInt(next, 1, 20);
    expect(await redeem(redeemParams(second, secondIndex))).toMatchObject({ channel: { state: 'closing', seq: '2', total: micro(heldTotal + BigInt(secondIndex) * 20_000n) } });
    await expect(redeem(redeemParams(otherAtSeq2, 3))).rejects.toMatchObject({ code: 'VOUCHER_DOUBLE_SIGNED' });
    const expected = heldTotal + BigInt(secondIndex) * 20_000n;

    clock.advance((WINDOW_S + 1) * 1000);
    await broker.app.service.tick();
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ state: 'closed', settledTotal: expected });
    expect(balanceOf(broker.app.db, walletAccount('charger-1'))).toBe(expected);
    await expect(redeem(redeemParams(second, secondIndex + 1))).rejects.toMatchObject({ code: 'CHANNEL_CLOSED' });
    const checks = auditLedger(broker.app.db, { verifySignatures: true });
    expect(checks.filter((check) => !check.ok)).toEqual([]);
  });

  it('only the payee redeems, and only a checkpoint its payer signed', async () => {
    const next = seededRandom(SEED + 1);
    const channelId = newChannelId(random);
    await car.request('channel.open', { channel: toHex(channelId), payee: 'charger-1', deposit: '1', durationSeconds: 3_600 });
    const chain = testChain(carKeys.secretKey, { channelId, seq: 1n, seed: seededBytes(32, next), length: 10, total: '0', price: '0.01' });
    await expect(car.request('channel.redeemChain', redeemParams(chain, 3))).rejects.toMatchObject({ code: 'CHANNEL_NOT_PAYEE' });
    const forged = testChain(broker.enrol('mallory-1').secretKey, { channelId, seq: 1n, seed: seededBytes(32, next), length: 10, total: '0', price: '0.01' });
    await expect(charger.request('channel.redeemChain', redeemParams(forged, 3))).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    // Open, the payer online: the redemption moves the latest, and the payer's next tick is judged against it.
    expect(await charger.request('channel.redeemChain', redeemParams(chain, 3))).toMatchObject({ channel: { state: 'open', seq: '1', total: '0.03' } });
    const verdicts = new TickVerdicts(car);
    const replay = verdicts.next(channelId, 1n, 3);
    await car.publishFrame('tick', tickFrame(chain, 3));
    expect(await replay).toMatchObject({ code: null, total: parseAmount('0.03') });
    const fourth = verdicts.next(channelId, 1n, 4);
    await car.publishFrame('tick', tickFrame(chain, 4));
    expect(await fourth).toMatchObject({ code: null, total: parseAmount('0.04') });
  });

  it(`a link far up a chain (more than TICK_SKIP_MAX hashes to the root) is proved over several event-loop turns, and a wrong one refused`, async () => {
    const next = seededRandom(SEED + 2);
    const channelId = newChannelId(random);
    await car.request('channel.open', { channel: toHex(channelId), payee: 'charger-1', deposit: '1', durationSeconds: 3_600 });
    const length = 3 * TICK_SKIP_MAX;
    const far = testChain(carKeys.secretKey, { channelId, seq: 1n, seed: seededBytes(32, next), length, total: '0', price: '0.0001' });
    const index = seededInt(next, 2 * TICK_SKIP_MAX + 1, length);
    await expect(charger.request('channel.redeemChain', redeemParams(far, index, far.chain.link(index - 1)))).rejects.toMatchObject({ code: 'TICK_PREIMAGE_INVALID' });
    expect(await charger.request('channel.redeemChain', redeemParams(far, index))).toMatchObject({ channel: { seq: '1', total: micro(BigInt(index) * 100n) } });
    // From the link the service now holds, a higher one costs only the hashes between them.
    expect(await charger.request('channel.redeemChain', redeemParams(far, length))).toMatchObject({ channel: { total: micro(BigInt(length) * 100n) } });
  });
});

/** Micro-units as the API writes amounts. */
const micro = (n: bigint): string => formatAmount(amountOf(n));
