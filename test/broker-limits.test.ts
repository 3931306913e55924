// Limits under attack: MQTT packets over the broker's maximum (sent on a raw TCP socket, because
// MQTT.js would not build them) destroy that connection and nothing else; a device flooding the
// service gets RATE_LIMITED replies, stays connected, and nothing beyond its accepted vouchers
// reaches the ledger.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceLink } from '../agent/link/link.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import type { MqpayError } from '../shared/errors.js';
import type { KeyPair } from '../shared/keys.js';
import { PACKET_BYTES_MAX } from '../shared/limits.js';
import { outboxTopic } from '../shared/topics.js';
import {
  connectPassword, countRows, expectAuditClean, expectLedgerUnchanged, ledgerFingerprint, micro, openChannel, connectPacket, publishHeader, publishPacket,
  ManualClock, rawConnection, requestId, rawRequest,
} from './helpers/broker-adversary.js';
import { signedVoucher, startBroker, type RunningBroker } from './helpers/broker-fixture.js';

const CONNACK_ACCEPTED = Buffer.from([0x20, 0x02, 0x00, 0x00]);

describe('broker: oversized MQTT packets', () => {
  let broker: RunningBroker;
  let malloryKeys: KeyPair;
  let car: DeviceLink;
  let carCloses = 0;

  beforeAll(async () => {
    broker = await startBroker();
    malloryKeys = broker.enrol('mallory', '1');
    car = await broker.link('car-1', broker.enrol('car-1', '1'));
    car.client.on('close', () => {
      carCloses += 1;
    });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  async function expectOthersServed(): Promise<void> {
    expect(carCloses).toBe(0);
    expect(await car.request('wallet.balance', {})).toEqual({ device: 'car-1', balance: '1' });
  }

  it('a PUBLISH header claiming 1 MiB, before any CONNECT, destroys the connection at once', async () => {
    const before = ledgerFingerprint(broker.app.db);
    const raw = await rawConnection(broker.mqttPort);
    raw.socket.write(publishHeader(1 << 20));
    expect(await raw.closed(2_000)).toBe(true);
    expectLedgerUnchanged(broker.app.db, before);
    await expectOthersServed();
  });

  it('a remaining length with a fifth length byte (malformed varint) destroys the connection', async () => {
    const raw = await rawConnection(broker.mqttPort);
    raw.socket.write(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]));
    expect(await raw.closed(2_000)).toBe(true);
    await expectOthersServed();
  });

  it('after a valid CONNECT, a PUBLISH of 8193 bytes remaining length destroys the connection; the broker serves others', async () => {
    const before = ledgerFingerprint(broker.app.db);
    const raw = await rawConnection(broker.mqttPort);
    raw.socket.write(connectPacket({ clientId: 'mallory', username: 'mallory', password: connectPassword({ device: 'mallory', broker: broker.app.config.brokerId, keys: malloryKeys }) }));
    const connack = await raw.receivedAtLeast(4);
    expect(connack.subarray(0, 4)).toEqual(CONNACK_ACCEPTED);
    const topic = outboxTopic('mallory', 'voucher');
    const payload = Buffer.alloc(PACKET_BYTES_MAX + 1 - (2 + Buffer.byteLength(topic)), 0x20);
    const packet = publishPacket(topic, payload);
    // Send it in small pieces: the guard must act on the header, not on a full buffer.
    for (let offset = 0; offset < packet.length && !raw.socket.destroyed; offset += 512) {
      raw.socket.write(packet.subarray(offset, offset + 512));
    }
    expect(await raw.closed(2_000)).toBe(true);
    expectLedgerUnchanged(broker.app.db, before);
    await expectOthersServed();
  });

  it('a PUBLISH exactly at the 8192-byte limit passes the guard and gets an application answer (control)', async () => {
    const raw = await rawConnection(broker.mqttPort);
    raw.socket.write(connectPacket({ clientId: 'mallory', username: 'mallory', password: connectPassword({ device: 'mallory', broker: broker.app.config.brokerId, keys: malloryKeys }) }));
    expect((await raw.receivedAtLeast(4)).subarray(0, 4)).toEqual(CONNACK_ACCEPTED);
    const topic = outboxTopic('mallory', 'voucher');
    raw.socket.write(publishPacket(topic, Buffer.alloc(PACKET_BYTES_MAX - (2 + Buffer.byteLength(topic)), 0x20)));
    // Sentinel: a PINGREQ behind it on the same connection. The broker reads packets in order, so
    // a PINGRESP means the 8192-byte PUBLISH was read and did not cost the connection.
    const PINGRESP = Buffer.from([0xd0, 0x00]);
    const upTo = raw.received().length;
    raw.socket.write(Buffer.from([0xc0, 0x00]));
    await raw.receivedAtLeast(upTo + PINGRESP.length);
    expect(raw.received().includes(PINGRESP, upTo)).toBe(true);
    expect(raw.socket.destroyed).toBe(false);
    raw.socket.destroy();
  });
});

describe('broker: rate limit per device', () => {
  let broker: RunningBroker;
  let carKeys: KeyPair;
  let car: DeviceLink;
  const PER_SECOND = 5;
  const BURST = 5;
  // The limiter reads the broker's injected clock; it stands still unless the test moves it, so
  // the bucket refills exactly when the test says and never while a flood is being sent.
  const clock = new ManualClock();
  /** Long enough for PER_SECOND to refill the whole burst. */
  const refill = () => clock.advance(Math.ceil((BURST / PER_SECOND) * 1_000));

  beforeAll(async () => {
    broker = await startBroker({ messagesPerSecondPerDevice: PER_SECOND, messagesBurstPerDevice: BURST }, undefined, { clock });
    carKeys = broker.enrol('car-1', '10');
    broker.enrol('charger-1');
    car = await broker.link('car-1', carKeys);
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('a voucher flood gets RATE_LIMITED replies, the connection stays up, and only accepted vouchers reach the ledger', async () => {
    const channelId = await openChannel(car, 'charger-1', '1');
    refill(); // the bucket spent on the open is full again
    const before = ledgerFingerprint(broker.app.db);
    const vouchersBefore = countRows(broker.app.db, 'vouchers');
    const replies: Record<string, unknown>[] = [];
    car.on('inbox', (box: string, payload: Uint8Array) => {
      if (box === 'voucher') replies.push(JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>);
    });
    const FLOOD = 40;
    await Promise.all(Array.from({ length: FLOOD }, (_, i) =>
      car.publish('voucher', signedVoucher(carKeys, { channelId, seq: BigInt(i + 1), total: micro(BigInt((i + 1) * 10)) }))));
    await expect.poll(() => replies.length, { timeout: 5_000 }).toBe(FLOOD);

    const accepted = replies.filter((r) => r.type === 'voucher.accepted');
    const limited = replies.filter((r) => r.type === 'voucher.rejected' && (r.error as Record<string, unknown>).code === 'RATE_LIMITED');
    expect(accepted.length + limited.length).toBe(FLOOD);
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    expect(accepted.length).toBeLessThan(FLOOD / 2);
    expect(limited.length).toBeGreaterThan(FLOOD / 2);
    // The clock did not move during the flood: exactly one full burst got through.
    expect(accepted.length).toBe(BURST);
    expect((limited[0]?.error as Record<string, unknown>).retryable).toBe(true);
    expect(car.connected).toBe(true);

    // Exactly the accepted vouchers were stored, the channel points at the highest accepted one,
    // and no money moved (vouchers alone never move money before settlement).
    expect(countRows(broker.app.db, 'vouchers')).toBe(vouchersBefore + accepted.length);
    const highest = accepted.map((r) => BigInt(String(r.seq))).reduce((a, b) => (a > b ? a : b));
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ latestSeq: highest, latestTotal: highest * 10n });
    const after = ledgerFingerprint(broker.app.db);
    expect(after.rows.accounts).toEqual(before.rows.accounts);
    expect(after.counts.transfers).toBe(before.counts.transfers);
    expectAuditClean(broker.app.db);

    // While the clock stands still the bucket stays empty; once it refills, the same connection
    // is served again.
    const stillLimited = requestId('still-limited');
    expect(await rawRequest(car.client, 'car-1', { v: 3, id: stillLimited, method: 'wallet.balance', params: {} }, stillLimited))
      .toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
    refill();
    expect(await car.request('wallet.balance', {})).toEqual({ device: 'car-1', balance: '9' });
  });

  it('a request flood gets RATE_LIMITED errors, nothing moves, and the connection stays up', async () => {
    refill();
    const before = ledgerFingerprint(broker.app.db);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => car.request('wallet.balance', {})));
    const codes = results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as MqpayError).code));
    expect(codes.filter((c) => c === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(20 - BURST - 1);
    // A full bucket and a clock that stands still: exactly the burst is served.
    expect(codes.filter((c) => c === 'ok').length).toBe(BURST);
    expect(codes.every((c) => c === 'RATE_LIMITED' || c === 'ok')).toBe(true);
    expect(car.connected).toBe(true);
    expectLedgerUnchanged(broker.app.db, before);
  });
});

describe('broker: in-flight limit per device', () => {
  let broker: RunningBroker;
  let carKeys: KeyPair;
  let car: DeviceLink;

  beforeAll(async () => {
    broker = await startBroker({ inFlightPerDevice: 1 });
    carKeys = broker.enrol('car-1', '10');
    broker.enrol('charger-1');
    car = await broker.link('car-1', carKeys);
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('pipelined vouchers over the in-flight limit get TOO_MANY_IN_FLIGHT; only accepted ones are stored', async () => {
    const channelId = await openChannel(car, 'charger-1', '1');
    const before = ledgerFingerprint(broker.app.db);
    const vouchersBefore = countRows(broker.app.db, 'vouchers');
    const replies: Record<string, unknown>[] = [];
    car.on('inbox', (box: string, payload: Uint8Array) => {
      if (box === 'voucher') replies.push(JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>);
    });
    const FLOOD = 20;
    await Promise.all(Array.from({ length: FLOOD }, (_, i) =>
      car.publish('voucher', signedVoucher(carKeys, { channelId, seq: BigInt(i + 1), total: micro(BigInt(i + 1)) }))));
    await expect.poll(() => replies.length, { timeout: 5_000 }).toBe(FLOOD);
    const accepted = replies.filter((r) => r.type === 'voucher.accepted');
    const limited = replies.filter((r) => r.type === 'voucher.rejected' && (r.error as Record<string, unknown>).code === 'TOO_MANY_IN_FLIGHT');
    expect(accepted.length + limited.length).toBe(FLOOD);
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(countRows(broker.app.db, 'vouchers')).toBe(vouchersBefore + accepted.length);
    const after = ledgerFingerprint(broker.app.db);
    expect(after.rows.accounts).toEqual(before.rows.accounts);
    expect(after.counts.transfers).toBe(before.counts.transfers);
    expectAuditClean(broker.app.db);
    expect(car.connected).toBe(true);
    expect(await car.request('wallet.balance', {})).toEqual({ device: 'car-1', balance: '9' });
  });
});
