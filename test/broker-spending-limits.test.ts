// Server-side spending limits through a real broker [docs/DESIGN.md rule 12]: a raw MQTT client
// holding a device's key (no agent, no agent policy) is refused by the service itself. The
// rolling windows count vouchers still in flight, persist with each voucher and survive a
// restart; the broker's defaults apply to a device without limits of its own; the operator sets
// them with `mqpay device limits` through the API (--url) or straight in the ledger (--data).
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceLink } from '../agent/link/link.js';
import { brokerConfig } from '../broker/config.js';
import { parseAmount } from '../shared/amount.js';
import { MqpayError } from '../shared/errors.js';
import { toHex } from '../shared/hex.js';
import type { KeyPair } from '../shared/keys.js';
import { OPERATOR_TOKEN, openChannel, payVoucher, random, signedVoucher, startBroker, tempDir, type RunningBroker } from './helpers/broker-fixture.js';
import { startOpsBroker, type OpsBroker } from './helpers/ops-fixture.js';
import { runCli } from './helpers/ops-cli.js';
import { movableClock } from './helpers/movable-clock.js';

const HOUR_MS = 3_600_000;
const FAR_EXPIRY_S = BigInt(Math.floor(Date.now() / 1000) + 30 * 86_400);
const limits = (text: { maxPerPayment?: string; maxPerHour?: string; maxPerDay?: string; allowPayees?: string[] }) => ({
  maxPerPayment: text.maxPerPayment === undefined ? null : parseAmount(text.maxPerPayment),
  maxPerHour: text.maxPerHour === undefined ? null : parseAmount(text.maxPerHour),
  maxPerDay: text.maxPerDay === undefined ? null : parseAmount(text.maxPerDay),
  allowPayees: text.allowPayees ?? null,
});


const open = openChannel;

async function openRefused(link: DeviceLink, payee: string, deposit: string): Promise<string> {
  const refused = await open(link, payee, deposit).then(() => null, (error: unknown) => error);
  expect(refused).toBeInstanceOf(MqpayError);
  return (refused as MqpayError).code;
}

/** Pays a voucher with this total and returns the verdict's code ('accepted' when accepted). */
async function verdict(link: DeviceLink, keys: KeyPair, channelId: Uint8Array, seq: bigint, total: string): Promise<{ code: string; retryable?: boolean }> {
  const reply = await payVoucher(link, signedVoucher(keys, { channelId, seq, total: parseAmount(total), expiresAtSeconds: FAR_EXPIRY_S }));
  if (reply.type === 'voucher.accepted') return { code: 'accepted' };
  const error = reply.error as { code: string; retryable: boolean };
  return { code: error.code, retryable: error.retryable };
}

describe('server-side spending limits', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  it('a raw client holding the key is refused: payee not allowed, deposit above a day, a payment too large, past the hour (until the hour rolls on)', async () => {
    const clock = movableClock();
    const broker = await startBroker({}, undefined, { clock });
    stops.push(() => broker.stop());
    const keys = broker.enrol('fridge-1', '100');
    broker.enrol('shop-1');
    broker.enrol('thief-1');
    await broker.app.service.setDeviceLimits('fridge-1', limits({ maxPerPayment: '1', maxPerHour: '2', maxPerDay: '5', allowPayees: ['shop-1'] }));
    const fridge = await broker.link('fridge-1', keys);

    expect(await openRefused(fridge, 'thief-1', '1')).toBe('LIMIT_PAYEE_NOT_ALLOWED');
    expect(await openRefused(fridge, 'shop-1', '5.000001')).toBe('LIMIT_DEPOSIT');
    const channel = await open(fridge, 'shop-1', '5');
    expect(await verdict(fridge, keys, channel, 1n, '1.5')).toEqual({ code: 'LIMIT_PER_PAYMENT', retryable: false });
    expect(await verdict(fridge, keys, channel, 1n, '1')).toEqual({ code: 'accepted' });
    expect(await verdict(fridge, keys, channel, 2n, '2')).toEqual({ code: 'accepted' });
    expect(await verdict(fridge, keys, channel, 3n, '2.5')).toEqual({ code: 'LIMIT_PER_HOUR', retryable: true });
    // A top-up that would leave more than a day's limit unspent in the escrow is refused too.
    await expect(fridge.request('channel.topup', { channel: toHex(channel), amount: '2.000001' })).rejects.toMatchObject({ code: 'LIMIT_DEPOSIT' });
    await fridge.request('channel.topup', { channel: toHex(channel), amount: '2' });

    // Retryable: the same voucher goes through once the hour has rolled on.
    clock.advance(HOUR_MS);
    expect(await verdict(fridge, keys, channel, 3n, '2.5')).toEqual({ code: 'accepted' });
    expect(broker.app.service.channelCache.size).toBeGreaterThan(0);
  });

  it('a burst sent at once cannot overshoot the hour: vouchers still in flight count', async () => {
    const broker = await startBroker();
    stops.push(() => broker.stop());
    const keys = broker.enrol('fridge-2', '100');
    broker.enrol('shop-2');
    await broker.app.service.setDeviceLimits('fridge-2', limits({ maxPerHour: '2' }));
    const fridge = await broker.link('fridge-2', keys);
    const channel = await open(fridge, 'shop-2', '10');
    // Six vouchers of 0.5 each, published in one go: none waits for another's commit.
    const verdicts = await Promise.all([1, 2, 3, 4, 5, 6].map((seq) => verdict(fridge, keys, channel, BigInt(seq), (seq * 0.5).toFixed(1))));
    expect(verdicts.map((v) => v.code)).toEqual(['accepted', 'accepted', 'accepted', 'accepted', 'LIMIT_PER_HOUR', 'LIMIT_PER_HOUR']);
    const spent = broker.app.db.prepare("SELECT sum(amount) AS total FROM device_spend WHERE device = 'fridge-2'").get() as { total: bigint };
    expect(spent.total).toBe(2_000_000n);
  });

  it('a voucher whose commit fails takes its spend back out of the window (and out of the store)', async () => {
    const broker = await startBroker();
    stops.push(() => broker.stop());
    const keys = broker.enrol('fridge-8', '10');
    broker.enrol('shop-8');
    await broker.app.service.setDeviceLimits('fridge-8', limits({ maxPerHour: '1' }));
    const fridge = await broker.link('fridge-8', keys);
    const channel = await open(fridge, 'shop-8', '1');
    // A real failure of the voucher's write (a trigger on the broker's own connection).
    broker.app.db.exec("CREATE TEMP TRIGGER fail_voucher BEFORE INSERT ON vouchers BEGIN SELECT RAISE(ABORT, 'injected disk failure'); END;");
    expect(await verdict(fridge, keys, channel, 1n, '0.6')).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    broker.app.db.exec('DROP TRIGGER fail_voucher');
    // Had the failed 0.6 stayed counted, 0.6 + 1 would be over the hour.
    expect(await verdict(fridge, keys, channel, 1n, '0.6')).toEqual({ code: 'accepted' });
    expect(await verdict(fridge, keys, channel, 2n, '1')).toEqual({ code: 'accepted' });
    const spent = broker.app.db.prepare("SELECT sum(amount) AS total FROM device_spend WHERE device = 'fridge-8'").get() as { total: bigint };
    expect(spent.total).toBe(1_000_000n);
  });

  it('the day holds across a broker restart: spend is persisted with each voucher', async () => {
    const dir = tempDir();
    stops.push(async () => dir.remove());
    const clock = movableClock();
    let broker: RunningBroker = await startBroker({}, dir.path, { clock });
    const keys = broker.enrol('fridge-3', '100');
    broker.enrol('shop-3');
    await broker.app.service.setDeviceLimits('fridge-3', limits({ maxPerDay: '3' }));
    let fridge = await broker.link('fridge-3', keys);
    // One channel never holds more than a day's limit (LIMIT_DEPOSIT), so the day is spent over two.
    const first = await open(fridge, 'shop-3', '3');
    const second = await open(fridge, 'shop-3', '3');
    expect(await verdict(fridge, keys, first, 1n, '1')).toEqual({ code: 'accepted' });
    clock.advance(2 * HOUR_MS);
    expect(await verdict(fridge, keys, first, 2n, '2.5')).toEqual({ code: 'accepted' });
    await broker.stop();

    broker = await startBroker({}, dir.path, { clock });
    stops.push(() => broker.stop());
    fridge = await broker.link('fridge-3', keys);
    // The new process knows nothing in memory: 2.5 of 3 spent today comes from the store.
    expect(await verdict(fridge, keys, second, 1n, '1')).toEqual({ code: 'LIMIT_PER_DAY', retryable: true });
    expect(await verdict(fridge, keys, second, 1n, '0.5')).toEqual({ code: 'accepted' });
    // A day after the first voucher, its 1 has left the window: 1.5 + 1 fits again.
    clock.advance(22 * HOUR_MS + 60_000);
    expect(await verdict(fridge, keys, second, 2n, '1.5')).toEqual({ code: 'accepted' });
  });

  it("the broker's defaults apply to a device without its own limits; its own override them field by field", async () => {
    const broker = await startBroker({ deviceMaxPerPaymentMicro: 500_000n, deviceMaxPerHourMicro: 10_000_000n });
    stops.push(() => broker.stop());
    const plainKeys = broker.enrol('plain-4', '100');
    const ownKeys = broker.enrol('own-4', '100');
    broker.enrol('shop-4');
    await broker.app.service.setDeviceLimits('own-4', limits({ maxPerPayment: '1' }));
    const plain = await broker.link('plain-4', plainKeys);
    const own = await broker.link('own-4', ownKeys);
    const plainChannel = await open(plain, 'shop-4', '5');
    const ownChannel = await open(own, 'shop-4', '5');
    expect(await verdict(plain, plainKeys, plainChannel, 1n, '0.6')).toMatchObject({ code: 'LIMIT_PER_PAYMENT' });
    expect(await verdict(plain, plainKeys, plainChannel, 1n, '0.5')).toEqual({ code: 'accepted' });
    expect(await verdict(own, ownKeys, ownChannel, 1n, '0.6')).toEqual({ code: 'accepted' });
    expect(await broker.app.service.deviceLimits('own-4')).toMatchObject({ effective: { maxPerPayment: 1_000_000n, maxPerHour: 10_000_000n, maxPerDay: null } });
  });

  it('refuses contradictory defaults once, when the broker is configured', () => {
    expect(() => brokerConfig({ dataDir: '/nowhere', operatorToken: OPERATOR_TOKEN, deviceMaxPerPaymentMicro: 2n, deviceMaxPerHourMicro: 1n })).toThrow(/max-per-payment may not exceed max-per-hour/);
    expect(() => brokerConfig({ dataDir: '/nowhere', operatorToken: OPERATOR_TOKEN, deviceMaxPerDayMicro: 0n })).toThrow(MqpayError);
  });
});

describe('mqpay device limits', () => {
  let broker: OpsBroker;
  afterEach(async () => {
    await broker.stop();
  });

  it('sets and shows limits through the API (--url) and in the ledger (--data); the running broker enforces either at once', async () => {
    broker = await startOpsBroker();
    const keys = broker.enrol('fridge-5', '100');
    broker.enrol('shop-5');
    const url = ['--url', broker.base, '--token', OPERATOR_TOKEN];
    const set = await runCli(['device', 'limits', 'fridge-5', '--max-per-hour', '2', '--allow-payee', 'shop-5', ...url]);
    expect(set.stderr).toBe('');
    expect(set.stdout).toBe([
      'device fridge-5: server-side spending limits',
      '  max-per-payment none',
      '  max-per-hour    2 (own)',
      '  max-per-day     none',
      '  allow-payee     shop-5',
      '',
    ].join('\n'));
    const fridge = await broker.link('fridge-5', keys);
    const channel = await open(fridge, 'shop-5', '10');
    expect(await verdict(fridge, keys, channel, 1n, '0.7')).toEqual({ code: 'accepted' });

    // --data writes the ledger beside the running broker, which reads limits from the store.
    const data = await runCli(['device', 'limits', 'fridge-5', '--max-per-payment', '0.5', '--data', broker.dataDir]);
    expect(data.stdout).toContain('  max-per-payment 0.5 (own)');
    expect(data.stdout).toContain('  max-per-day     broker default (--device-max-per-day of the running broker, if given)');
    expect(await verdict(fridge, keys, channel, 2n, '1.3')).toMatchObject({ code: 'LIMIT_PER_PAYMENT' });
    const shown = await runCli(['device', 'limits', 'fridge-5', '--json', ...url]);
    expect(JSON.parse(shown.stdout)).toMatchObject({ own: { maxPerPayment: '0.5', maxPerHour: '2', maxPerDay: null, allowPayees: ['shop-5'] } });

    // An allow-list changed in the ledger counts from the next voucher on a channel already open.
    expect((await runCli(['device', 'limits', 'fridge-5', '--allow-payee', 'shop-6', '--data', broker.dataDir])).stdout).toContain('  allow-payee     shop-6');
    expect(await verdict(fridge, keys, channel, 2n, '1')).toMatchObject({ code: 'LIMIT_PAYEE_NOT_ALLOWED' });
    const cleared = await runCli(['device', 'limits', 'fridge-5', '--clear', 'max-per-payment', '--clear', 'allow-payee', '--data', broker.dataDir]);
    expect(cleared.stdout).toContain('  allow-payee     any payee');
    expect(await verdict(fridge, keys, channel, 2n, '1.3')).toEqual({ code: 'accepted' });
    const all = await runCli(['device', 'limits', 'fridge-5', '--clear', 'all', ...url]);
    expect(all.stdout).toContain('  max-per-hour    none');

    // Usage and domain errors say what is wrong.
    expect(await runCli(['device', 'limits', 'fridge-5', '--max-per-hour', '1', '--clear', 'max-per-hour', ...url])).toMatchObject({ code: 2 });
    expect((await runCli(['device', 'limits', 'fridge-5', '--clear', 'everything', ...url])).stderr).toContain('--clear takes one of');
    expect((await runCli(['device', 'limits', 'fridge-5', '--max-per-payment', '3', '--max-per-hour', '2', '--data', broker.dataDir])).stderr).toContain('error MESSAGE_INVALID');
    expect((await runCli(['device', 'limits', 'ghost-5', ...url])).stderr).toContain('error DEVICE_UNKNOWN');
    const empty = tempDir();
    expect((await runCli(['device', 'limits', 'fridge-5', '--data', empty.path])).stderr).toContain('no mqpay ledger in');
    empty.remove();
  });
});
