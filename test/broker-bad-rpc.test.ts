// "Bad input gets a clear error and changes nothing" for requests over MQTT (out/rpc -> in/rpc):
// malformed and oversized requests, amounts that are negative, fractional past 6 decimals or past
// u64, unknown fields and methods, refusals of the channel methods; and the idempotency of
// request ids (a repeated id gets the identical answer and moves money once). Each refusal is
// checked against a ledger fingerprint taken before it, plus the ledger audit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceLink } from '../agent/link/link.js';
import { setDeviceStatus } from '../broker/store/sqlite/devices.js';
import { balanceOf } from '../broker/store/sqlite/ledger.js';
import { escrowAccount, walletAccount } from '../broker/store/accounts.js';
import { ERRORS, type ErrorCode } from '../shared/errors.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import { PAYLOAD_BYTES_MAX } from '../shared/limits.js';
import {
  countRows, expectAuditClean, expectLedgerUnchanged, ledgerFingerprint, linkRequest, openChannel, rawRequest, requestId,
} from './helpers/broker-adversary.js';
import { random, startBroker, type RunningBroker } from './helpers/broker-fixture.js';

type Reply = Record<string, unknown>;

describe('broker: bad requests get a clear error and change nothing', () => {
  let broker: RunningBroker;
  let car: DeviceLink;
  let charger: DeviceLink;
  let mallory: DeviceLink;

  beforeAll(async () => {
    broker = await startBroker();
    const carKeys = broker.enrol('car-1', '100');
    const chargerKeys = broker.enrol('charger-1', '10');
    const malloryKeys = broker.enrol('mallory', '10');
    broker.enrol('parked');
    setDeviceStatus(broker.app.db, 'parked', 'disabled');
    car = await broker.link('car-1', carKeys);
    charger = await broker.link('charger-1', chargerKeys);
    mallory = await broker.link('mallory', malloryKeys);
  });
  afterAll(async () => {
    await broker?.stop();
  });

  /** Sends a request (any shape) from a link and expects ok:false with `code`; nothing changes. */
  async function expectRefused(link: DeviceLink, device: string, method: string, params: unknown, code: string, message?: RegExp): Promise<Reply> {
    const before = ledgerFingerprint(broker.app.db);
    const id = requestId();
    const reply = await linkRequest(link, device, method, params, id);
    expect(reply).toMatchObject({ v: 3, id, ok: false, error: { code } });
    if (message !== undefined) {
      // v2: the registry text and this occurrence's detail travel apart.
      expect((reply.error as Reply).message).toBe(ERRORS[code as ErrorCode].message);
      expect(String((reply.error as Reply).detail)).toMatch(message);
    }
    expectLedgerUnchanged(broker.app.db, before);
    return reply;
  }

  const openParams = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    channel: toHex(newChannelId(random)), payee: 'charger-1', deposit: '1', durationSeconds: 3_600, ...extra,
  });

  describe('envelope', () => {
    it('malformed JSON -> MESSAGE_INVALID, answered under the id "-"', async () => {
      const before = ledgerFingerprint(broker.app.db);
      const reply = await rawRequest(car.client, 'car-1', '{"v":2,"id":"x1","method":', '-');
      expect(reply).toMatchObject({ v: 3, id: '-', ok: false, error: { code: 'MESSAGE_INVALID', retryable: false } });
      expectLedgerUnchanged(broker.app.db, before);
    });

    it('a request over 4096 bytes -> MESSAGE_TOO_LARGE, nothing opened', async () => {
      const before = ledgerFingerprint(broker.app.db);
      const id = requestId('big');
      const payload = JSON.stringify({ v: 3, id, method: 'channel.open', params: openParams({ memo: 'x'.repeat(PAYLOAD_BYTES_MAX) }) });
      expect(payload.length).toBeGreaterThan(PAYLOAD_BYTES_MAX);
      const reply = await rawRequest(car.client, 'car-1', payload, id);
      expect(reply).toMatchObject({ ok: false, error: { code: 'MESSAGE_TOO_LARGE' } });
      expectLedgerUnchanged(broker.app.db, before);
    });

    it('an unknown top-level field, a wrong version, missing params -> MESSAGE_INVALID', async () => {
      for (const build of [
        (id: string) => ({ v: 3, id, method: 'wallet.balance', params: {}, sudo: true }),
        (id: string) => ({ v: 1, id, method: 'wallet.balance', params: {} }),
        (id: string) => ({ v: 3, id, method: 'wallet.balance' }),
        (id: string) => ({ v: 3, id, method: 'channel.open', params: null }),
      ]) {
        const before = ledgerFingerprint(broker.app.db);
        const id = requestId();
        expect(await rawRequest(car.client, 'car-1', build(id), id)).toMatchObject({ id, ok: false, error: { code: 'MESSAGE_INVALID' } });
        expectLedgerUnchanged(broker.app.db, before);
      }
    });

    it('an invalid request id -> MESSAGE_INVALID under the id "-"', async () => {
      const before = ledgerFingerprint(broker.app.db);
      const reply = await rawRequest(car.client, 'car-1', { v: 3, id: 'has space', method: 'channel.open', params: openParams() }, '-');
      expect(reply).toMatchObject({ id: '-', ok: false, error: { code: 'MESSAGE_INVALID' } });
      const long = await rawRequest(car.client, 'car-1', { v: 3, id: 'x'.repeat(65), method: 'channel.open', params: openParams() }, '-');
      expect(long).toMatchObject({ id: '-', ok: false, error: { code: 'MESSAGE_INVALID' } });
      expectLedgerUnchanged(broker.app.db, before);
    });

    it('an unknown method -> MESSAGE_INVALID', async () => {
      await expectRefused(car, 'car-1', 'wallet.withdraw', { amount: '1' }, 'MESSAGE_INVALID');
      await expectRefused(car, 'car-1', 'settlement.force', {}, 'MESSAGE_INVALID');
      await expectRefused(car, 'car-1', '__proto__', {}, 'MESSAGE_INVALID');
    });

    it('an unknown field in params -> MESSAGE_INVALID (no channel opened)', async () => {
      await expectRefused(car, 'car-1', 'channel.open', openParams({ fee: '0' }), 'MESSAGE_INVALID', /unrecognized|fee/i);
      await expectRefused(car, 'car-1', 'wallet.balance', { device: 'charger-1' }, 'MESSAGE_INVALID');
    });

    it.each<[string, Record<string, unknown>]>([
      ['deposit as a number', { deposit: 5 }],
      ['deposit as null', { deposit: null }],
      ['durationSeconds as a string', { durationSeconds: '3600' }],
      ['durationSeconds fractional', { durationSeconds: 3600.5 }],
      ['durationSeconds below the minimum', { durationSeconds: 59 }],
      ['durationSeconds above the maximum', { durationSeconds: 367 * 24 * 3600 }],
      ['payee not a device id', { payee: 'Charger/1' }],
      ['payee as a number', { payee: 7 }],
      ['channel id too short', { channel: 'ab'.repeat(31) }],
      ['channel id in upper case', { channel: 'AB'.repeat(32) }],
    ])('channel.open with %s -> MESSAGE_INVALID', async (_name, extra) => {
      await expectRefused(car, 'car-1', 'channel.open', openParams(extra), 'MESSAGE_INVALID');
    });
  });

  describe('amounts', () => {
    it.each<[string, string, RegExp]>([
      ['negative', '-1', /negative/],
      ['negative fraction', '-0.000001', /negative/],
      ['fractional past 6 decimals', '0.0000001', /decimal|6/],
      ['7 decimals that round to a micro-unit', '1.0000005', /decimal|6/],
      ['past u64', '18446744073709.551616', /u64/],
      ['far past u64', '99999999999999999999', /u64/],
      ['exponent notation', '1e3', /decimal/],
      ['leading zero', '01', /decimal/],
      ['a blank', ' 1', /decimal/],
      ['a plus sign', '+1', /decimal/],
      ['a trailing point', '1.', /decimal/],
      ['too long', `1${'0'.repeat(30)}`, /27|long|big/i],
    ])('deposit %s (%s) -> MESSAGE_INVALID naming the problem', async (_name, deposit, message) => {
      await expectRefused(car, 'car-1', 'channel.open', openParams({ deposit }), 'MESSAGE_INVALID', message);
    });

    it('a zero deposit -> a clear refusal (AMOUNT_ZERO or MESSAGE_INVALID), not INTERNAL, nothing opened', async () => {
      const before = ledgerFingerprint(broker.app.db);
      const id = requestId('open-zero');
      const reply = await linkRequest(car, 'car-1', 'channel.open', openParams({ deposit: '0' }), id);
      expect(reply).toMatchObject({ id, ok: false });
      expect(['AMOUNT_ZERO', 'MESSAGE_INVALID']).toContain((reply.error as Reply).code);
      expectLedgerUnchanged(broker.app.db, before);
    });

    it('the largest u64 deposit -> INSUFFICIENT_FUNDS (no overflow on the way)', async () => {
      await expectRefused(car, 'car-1', 'channel.open', openParams({ deposit: '18446744073709.551615' }), 'INSUFFICIENT_FUNDS');
    });
  });

  describe('channel.open refusals', () => {
    it('open to self -> CHANNEL_SELF', async () => {
      await expectRefused(car, 'car-1', 'channel.open', openParams({ payee: 'car-1' }), 'CHANNEL_SELF');
    });

    it('open to an unknown payee -> DEVICE_UNKNOWN', async () => {
      await expectRefused(car, 'car-1', 'channel.open', openParams({ payee: 'ghost' }), 'DEVICE_UNKNOWN');
    });

    it('open to a disabled payee -> DEVICE_DISABLED', async () => {
      await expectRefused(car, 'car-1', 'channel.open', openParams({ payee: 'parked' }), 'DEVICE_DISABLED');
    });

    it('a deposit above the wallet -> INSUFFICIENT_FUNDS', async () => {
      await expectRefused(mallory, 'mallory', 'channel.open', openParams({ deposit: '10.000001' }), 'INSUFFICIENT_FUNDS');
    });

    it("a channel id already taken by another payer -> NOT_AUTHORIZED, and the owner's channel is untouched", async () => {
      const channelId = await openChannel(car, 'charger-1', '1');
      await expectRefused(mallory, 'mallory', 'channel.open', openParams({ channel: toHex(channelId) }), 'NOT_AUTHORIZED');
      await expectRefused(mallory, 'mallory', 'channel.open', openParams({ channel: toHex(channelId), payee: 'car-1' }), 'NOT_AUTHORIZED');
      await expectRefused(charger, 'charger-1', 'channel.open', openParams({ channel: toHex(channelId), payee: 'car-1' }), 'NOT_AUTHORIZED');
      expect(balanceOf(broker.app.db, escrowAccount(channelId))).toBe(1_000_000n);
    });
  });

  describe('request ids are idempotent', () => {
    it('open twice with the same id -> the identical answer, one deposit transfer', async () => {
      const id = requestId('open');
      const params = openParams({ deposit: '2.5' });
      const walletBefore = balanceOf(broker.app.db, walletAccount('car-1')) ?? 0n;
      const transfersBefore = countRows(broker.app.db, 'transfers');
      const first = await linkRequest(car, 'car-1', 'channel.open', params, id);
      expect(first).toMatchObject({ id, ok: true, result: { channel: { deposit: '2.5', state: 'open' } } });
      const afterFirst = ledgerFingerprint(broker.app.db);
      const second = await linkRequest(car, 'car-1', 'channel.open', params, id);
      expect(second).toEqual(first);
      expectLedgerUnchanged(broker.app.db, afterFirst);
      expect(countRows(broker.app.db, 'transfers')).toBe(transfersBefore + 1);
      expect(balanceOf(broker.app.db, walletAccount('car-1'))).toBe(walletBefore - 2_500_000n);
    });

    it('the same id sent twice at once -> two identical answers, money moved once', async () => {
      const id = requestId('burst');
      const params = openParams({ deposit: '0.5' });
      const walletBefore = balanceOf(broker.app.db, walletAccount('car-1')) ?? 0n;
      const replies: Reply[] = [];
      const both = new Promise<void>((resolve) => {
        const onMessage = (topic: string, payload: Buffer) => {
          if (topic !== 'mqpay/v1/d/car-1/in/rpc') return;
          const message = JSON.parse(payload.toString('utf8')) as Reply;
          if (message.id !== id) return;
          replies.push(message);
          if (replies.length === 2) {
            car.client.off('message', onMessage);
            resolve();
          }
        };
        car.client.on('message', onMessage);
      });
      const body = Buffer.from(JSON.stringify({ v: 3, id, method: 'channel.open', params }));
      car.client.publish('mqpay/v1/d/car-1/out/rpc', body, { qos: 1 });
      car.client.publish('mqpay/v1/d/car-1/out/rpc', body, { qos: 1 });
      await both;
      expect(replies[0]).toMatchObject({ ok: true });
      expect(replies[1]).toEqual(replies[0]);
      expect(balanceOf(broker.app.db, walletAccount('car-1'))).toBe(walletBefore - 500_000n);
      expectAuditClean(broker.app.db);
    });

    it('a refused request repeated with the same id keeps its refusal, even once it could succeed', async () => {
      const id = requestId('poor');
      const params = openParams({ deposit: '10.5' });
      const before = ledgerFingerprint(broker.app.db);
      const first = await linkRequest(mallory, 'mallory', 'channel.open', params, id);
      expect(first).toMatchObject({ ok: false, error: { code: 'INSUFFICIENT_FUNDS' } });
      expect(await linkRequest(mallory, 'mallory', 'channel.open', params, id)).toEqual(first);
      expectLedgerUnchanged(broker.app.db, before);
    });

    it("one device's request id does not answer another device's request", async () => {
      const id = requestId('shared');
      const mine = await linkRequest(car, 'car-1', 'channel.open', openParams({ deposit: '0.1' }), id);
      expect(mine).toMatchObject({ ok: true });
      const before = ledgerFingerprint(broker.app.db);
      const theirs = await linkRequest(mallory, 'mallory', 'channel.open', openParams({ payee: 'car-1', deposit: '20' }), id);
      expect(theirs).toMatchObject({ id, ok: false, error: { code: 'INSUFFICIENT_FUNDS' } });
      expectLedgerUnchanged(broker.app.db, before);
    });
  });

  describe('channel.topup and channel.close refusals', () => {
    let channelId: Uint8Array;
    let channel: string;
    beforeAll(async () => {
      channelId = await openChannel(car, 'charger-1', '1');
      channel = toHex(channelId);
    });

    it('a top-up by the payee or a stranger -> CHANNEL_NOT_PAYER', async () => {
      await expectRefused(charger, 'charger-1', 'channel.topup', { channel, amount: '1' }, 'CHANNEL_NOT_PAYER');
      await expectRefused(mallory, 'mallory', 'channel.topup', { channel, amount: '1' }, 'CHANNEL_NOT_PAYER');
    });

    it('a top-up of an unknown channel, above the wallet, or with a bad amount is refused', async () => {
      await expectRefused(car, 'car-1', 'channel.topup', { channel: toHex(newChannelId(random)), amount: '1' }, 'CHANNEL_UNKNOWN');
      await expectRefused(car, 'car-1', 'channel.topup', { channel, amount: '1000' }, 'INSUFFICIENT_FUNDS');
      await expectRefused(car, 'car-1', 'channel.topup', { channel, amount: '-1' }, 'MESSAGE_INVALID', /negative/);
      await expectRefused(car, 'car-1', 'channel.topup', { channel, amount: '0.0000001' }, 'MESSAGE_INVALID');
      await expectRefused(car, 'car-1', 'channel.topup', { channel, amount: '18446744073709.551616' }, 'MESSAGE_INVALID', /u64/);
      await expectRefused(car, 'car-1', 'channel.topup', { channel, amount: 1 }, 'MESSAGE_INVALID');
      await expectRefused(car, 'car-1', 'channel.topup', { channel, amount: '1', deposit: '5' }, 'MESSAGE_INVALID');
    });

    it('a zero top-up -> a clear refusal (AMOUNT_ZERO or MESSAGE_INVALID), not INTERNAL', async () => {
      const before = ledgerFingerprint(broker.app.db);
      const id = requestId('topup-zero');
      const reply = await linkRequest(car, 'car-1', 'channel.topup', { channel, amount: '0' }, id);
      expect(reply).toMatchObject({ ok: false });
      expect(['AMOUNT_ZERO', 'MESSAGE_INVALID']).toContain((reply.error as Reply).code);
      expectLedgerUnchanged(broker.app.db, before);
    });

    it('a close by a stranger -> NOT_AUTHORIZED; of an unknown channel -> CHANNEL_UNKNOWN', async () => {
      await expectRefused(mallory, 'mallory', 'channel.close', { channel }, 'NOT_AUTHORIZED');
      await expectRefused(mallory, 'mallory', 'channel.close', { channel: toHex(newChannelId(random)) }, 'CHANNEL_UNKNOWN');
    });

    it('a second close, and a top-up after close -> CHANNEL_CLOSED', async () => {
      expect(await charger.request('channel.close', { channel })).toMatchObject({ refunded: '1' });
      await expectRefused(car, 'car-1', 'channel.close', { channel }, 'CHANNEL_CLOSED');
      await expectRefused(charger, 'charger-1', 'channel.close', { channel }, 'CHANNEL_CLOSED');
      await expectRefused(car, 'car-1', 'channel.topup', { channel, amount: '1' }, 'CHANNEL_CLOSED');
      expect(balanceOf(broker.app.db, escrowAccount(channelId))).toBe(0n);
    });
  });

  it('wallet.balance answers with the caller\'s own balance', async () => {
    expect(await mallory.request('wallet.balance', {})).toEqual({ device: 'mallory', balance: '10' });
    expectAuditClean(broker.app.db);
  });

  it('channel.list answers with the caller\'s own channels (none for mallory, its channels for car-1)', async () => {
    const id = requestId('list');
    expect(await linkRequest(mallory, 'mallory', 'channel.list', {}, id)).toEqual({ v: 3, id, ok: true, result: { channels: [] } });
    const listed = await car.request('channel.list', {});
    const channels = listed.channels as Record<string, unknown>[];
    expect(channels.length).toBeGreaterThan(0);
    expect(channels.every((c) => c.payer === 'car-1' || c.payee === 'car-1')).toBe(true);
  });
});
