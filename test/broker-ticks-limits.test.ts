// Hash-chain ticks under the server-side spending limits and key rotation [docs/DESIGN.md rule 12],
// through a real broker with a raw client holding the payer's key (no agent, no agent policy):
// what a checkpoint and each tick raise the channel's total by counts as a payment against the
// payer's per-payment, hourly and daily limits and its payee allow-list, exactly like a voucher's,
// and is stored with the tick (device_spend), so ticks are no way around the limits. A checkpoint
// signed with a key the payer rotated away from is KEY_ROTATED, and so is every further tick of
// a chain such a key committed to. A disabled payer's channels are closing: they take no more ticks.
import { afterEach, describe, expect, it } from 'vitest';
import { sign } from '../shared/crypto.js';
import { parseAmount } from '../shared/amount.js';
import { toHex } from '../shared/hex.js';
import { signKeyRotation } from '../shared/key-rotation.js';
import { generateKeyPair } from '../shared/keys.js';
import type { DeviceLink } from '../agent/link/link.js';
import { openChannel, random, startBroker, tempDir, type RunningBroker } from './helpers/broker-fixture.js';
import { movableClock } from './helpers/movable-clock.js';
import { seededInt, seededRandom } from './helpers/seed.js';
import { TickVerdicts, testChain, tickFrame, type TestChain } from './helpers/tick-payer.js';

const HOUR_MS = 3_600_000;
const seededBytes = (length: number, seed: number): Uint8Array => {
  const next = seededRandom(seed);
  return Uint8Array.from({ length }, () => seededInt(next, 0, 256));
};


const open = openChannel;

/** Publishes one frame and returns its verdict's code ('accepted' when accepted). */
async function verdictOf(link: DeviceLink, verdicts: TickVerdicts, test: TestChain, index: number, frame: Uint8Array): Promise<string> {
  const verdict = verdicts.next(test.checkpoint.channelId, test.checkpoint.seq, index);
  await link.publishFrame('tick', frame);
  return (await verdict).code ?? 'accepted';
}

describe('broker: ticks count against the spending limits; rotated keys pay nothing', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  it('a raw client holding the key: a checkpoint or ticks past max-per-payment, past the hour, or to a payee no longer allowed are refused; the hour rolls on', async () => {
    const clock = movableClock();
    const broker: RunningBroker = await startBroker({}, undefined, { clock });
    stops.push(() => broker.stop());
    const keys = broker.enrol('fridge-1', '100');
    broker.enrol('shop-1');
    await broker.app.service.setDeviceLimits('fridge-1', { maxPerPayment: parseAmount('1'), maxPerHour: parseAmount('2'), maxPerDay: parseAmount('5'), allowPayees: ['shop-1'] });
    const fridge = await broker.link('fridge-1', keys);
    const verdicts = new TickVerdicts(fridge);
    const channelId = await open(fridge, 'shop-1', '5');

    const tooLarge = testChain(keys.secretKey, { channelId, seq: 1n, seed: seededBytes(32, 11), length: 20, total: '1.5', price: '0.5' });
    expect(await verdictOf(fridge, verdicts, tooLarge, 0, tooLarge.frame)).toBe('LIMIT_PER_PAYMENT');
    const test = testChain(keys.secretKey, { channelId, seq: 2n, seed: seededBytes(32, 12), length: 20, total: '0.5', price: '0.5' });
    expect(await verdictOf(fridge, verdicts, test, 0, test.frame)).toBe('accepted');
    // Three ticks at once raise the total by 1.5: one payment above max-per-payment.
    expect(await verdictOf(fridge, verdicts, test, 3, tickFrame(test, 3))).toBe('LIMIT_PER_PAYMENT');
    for (const index of [1, 2, 3]) expect(await verdictOf(fridge, verdicts, test, index, tickFrame(test, index))).toBe('accepted');
    // 0.5 + 3 x 0.5 = 2 spent in this hour: the next tick is past max-per-hour, until the hour rolls on.
    expect(await verdictOf(fridge, verdicts, test, 4, tickFrame(test, 4))).toBe('LIMIT_PER_HOUR');
    expect(broker.app.db.prepare('SELECT SUM(amount) AS spent FROM device_spend WHERE device = ?').get('fridge-1')).toEqual({ spent: parseAmount('2') });
    clock.advance(HOUR_MS + 60_000);
    expect(await verdictOf(fridge, verdicts, test, 4, tickFrame(test, 4))).toBe('accepted');
    // An allow-list changed after the open counts for the next tick.
    await broker.app.service.setDeviceLimits('fridge-1', { maxPerPayment: parseAmount('1'), maxPerHour: parseAmount('2'), maxPerDay: parseAmount('5'), allowPayees: ['shop-2'] });
    expect(await verdictOf(fridge, verdicts, test, 5, tickFrame(test, 5))).toBe('LIMIT_PAYEE_NOT_ALLOWED');
    expect(broker.app.db.prepare('SELECT SUM(amount) AS spent FROM device_spend WHERE device = ?').get('fridge-1')).toEqual({ spent: parseAmount('2.5') });
    expect(broker.app.db.prepare('SELECT highest_index AS highest FROM chains').get()).toEqual({ highest: 4n });
  });

  it('after a rotation, a checkpoint signed with the old key is KEY_ROTATED, so is a tick of a chain it committed to, also once the broker reloads it; the new key starts a chain', async () => {
    const dir = tempDir();
    stops.push(async () => dir.remove());
    let broker: RunningBroker = await startBroker({}, dir.path);
    stops.push(() => broker.stop());
    const keys = broker.enrol('car-1', '10');
    broker.enrol('charger-1');
    const car = await broker.link('car-1', keys);
    const verdicts = new TickVerdicts(car);
    const channelId = await open(car, 'charger-1', '5');
    const old = testChain(keys.secretKey, { channelId, seq: 1n, seed: seededBytes(32, 21), length: 50, total: '0.1', price: '0.01' });
    expect(await verdictOf(car, verdicts, old, 0, old.frame)).toBe('accepted');
    expect(await verdictOf(car, verdicts, old, 1, tickFrame(old, 1))).toBe('accepted');

    const next = generateKeyPair(random);
    const rotation = signKeyRotation({ device: 'car-1', timeMs: Date.now(), current: keys, next, sign });
    await car.request('device.rotate', { rotation: toHex(rotation.bytes), signature: toHex(rotation.signature), newSignature: toHex(rotation.newSignature) });
    expect(await verdictOf(car, verdicts, old, 2, tickFrame(old, 2))).toBe('KEY_ROTATED');
    const stale = testChain(keys.secretKey, { channelId, seq: 2n, seed: seededBytes(32, 22), length: 50, total: '0.2', price: '0.01' });
    expect(await verdictOf(car, verdicts, stale, 0, stale.frame)).toBe('KEY_ROTATED');
    // After a restart the chain is read back from the store and still pays nothing.
    await broker.stop();
    broker = await startBroker({}, dir.path);
    const carAgain = await broker.link('car-1', next);
    const verdictsAgain = new TickVerdicts(carAgain);
    expect(await verdictOf(carAgain, verdictsAgain, old, 2, tickFrame(old, 2))).toBe('KEY_ROTATED');

    const fresh = testChain(next.secretKey, { channelId, seq: 2n, seed: seededBytes(32, 23), length: 50, total: '0.2', price: '0.01' });
    expect(await verdictOf(carAgain, verdictsAgain, fresh, 0, fresh.frame)).toBe('accepted');
    expect(await verdictOf(carAgain, verdictsAgain, fresh, 1, tickFrame(fresh, 1))).toBe('accepted');
    expect(broker.app.db.prepare('SELECT seq, highest_index AS highest FROM chains').get()).toEqual({ seq: 2n, highest: 1n });
  });

  it('disabling the payer closes its channels: their ticks and new checkpoints are refused', async () => {
    const broker: RunningBroker = await startBroker();
    stops.push(() => broker.stop());
    const keys = broker.enrol('van-1', '10');
    broker.enrol('dock-1');
    const van = await broker.link('van-1', keys);
    const verdicts = new TickVerdicts(van);
    const channelId = await open(van, 'dock-1', '5');
    const test = testChain(keys.secretKey, { channelId, seq: 1n, seed: seededBytes(32, 31), length: 50, total: '0.1', price: '0.01' });
    expect(await verdictOf(van, verdicts, test, 0, test.frame)).toBe('accepted');
    expect(await verdictOf(van, verdicts, test, 1, tickFrame(test, 1))).toBe('accepted');
    const { closing } = await broker.app.service.setDeviceStatus('van-1', 'disabled');
    expect(closing.map((row) => row.state)).toEqual(['closing']);
    expect(await verdictOf(van, verdicts, test, 2, tickFrame(test, 2))).toBe('CHANNEL_CLOSING');
    const later = testChain(keys.secretKey, { channelId, seq: 2n, seed: seededBytes(32, 32), length: 50, total: '0.2', price: '0.01' });
    expect(await verdictOf(van, verdicts, later, 0, later.frame)).toBe('CHANNEL_CLOSING');
    expect(broker.app.db.prepare('SELECT seq, highest_index AS highest FROM chains').get()).toEqual({ seq: 1n, highest: 1n });
  });
});
