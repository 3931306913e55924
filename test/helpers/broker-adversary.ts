// Helpers for the adversarial broker tests: a ledger fingerprint to prove "changes nothing",
// hostile MQTT clients with handcrafted credentials, raw outbox publishes, raw MQTT packets for
// a plain TCP socket, and a clock that can jump forward. Nothing here mocks the broker or the
// database: every helper talks to a real aedes broker over loopback or reads the real SQLite file.
import { connect as netConnect, type Socket } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { expect } from 'vitest';
import type { DeviceLink } from '../../agent/link/link.js';
import type { Clock } from '../../broker/service/ports.js';
import { auditLedger } from '../../broker/store/sqlite/audit.js';
import type { Db } from '../../broker/store/sqlite/open-database.js';
import type { Amount } from '../../shared/amount.js';
import { signConnectPassword } from '../../shared/connect-token.js';
import { sign } from '../../shared/crypto.js';
import { fromHex, toHex } from '../../shared/hex.js';
import { newChannelId } from '../../shared/ids.js';
import type { KeyPair } from '../../shared/keys.js';
import { CONNECT_NONCE_BYTES } from '../../shared/limits.js';
import { CURVE_ORDER } from '../../shared/signature-rule.js';
import { decodeVoucher } from '../../shared/voucher.js';
import { inboxFilter, inboxTopic, outboxTopic, type OutboxKind } from '../../shared/topics.js';
import { random, type RunningBroker } from './broker-fixture.js';

// ---------------------------------------------------------------------------------------------
// Ledger fingerprint

export interface LedgerFingerprint {
  /** Every row of the money-bearing tables, all columns, as text. */
  readonly rows: Record<string, readonly Record<string, string>[]>;
  /** Row counts of the append-only tables. */
  readonly counts: Record<string, string>;
}

const text = (value: unknown): string => {
  if (typeof value === 'bigint' || typeof value === 'number') return value.toString();
  if (value instanceof Uint8Array) return toHex(value);
  return value === null ? 'null' : String(value);
};

const tableExists = (db: Db, table: string): boolean =>
  db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(table) !== undefined;

/**
 * Everything a bad input must not change: every column of accounts, channels (and certificates,
 * when the schema has them), and the counts of transfers, vouchers, settlements and their lines.
 * Deliberately schema-agnostic (SELECT *), so it keeps working as the store evolves.
 */
export function ledgerFingerprint(db: Db): LedgerFingerprint {
  const rows: Record<string, Record<string, string>[]> = {};
  for (const table of ['accounts', 'channels', 'certificates']) {
    if (!tableExists(db, table)) continue;
    rows[table] = (db.prepare(`SELECT * FROM ${table} ORDER BY 1`).all() as Record<string, unknown>[])
      .map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, text(value)])));
  }
  const counts: Record<string, string> = {};
  for (const table of ['transfers', 'vouchers', 'settlements', 'settlement_lines']) {
    counts[table] = text((db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: bigint }).n);
  }
  return { rows, counts };
}

export function countRows(db: Db, table: 'double_signs' | 'receipts' | 'requests' | 'vouchers' | 'transfers'): number {
  return Number((db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: bigint }).n);
}

export function expectAuditClean(db: Db): void {
  expect(auditLedger(db).filter((check) => !check.ok)).toEqual([]);
}

/** The ledger is exactly as it was, and the audit still holds. */
export function expectLedgerUnchanged(db: Db, before: LedgerFingerprint): void {
  expect(ledgerFingerprint(db)).toEqual(before);
  expectAuditClean(db);
}

// ---------------------------------------------------------------------------------------------
// Clock

/** Real time plus an offset the test can move forward (channel and voucher expiry). */
export class ShiftableClock implements Clock {
  offsetMs = 0;
  nowMs(): number {
    return Date.now() + this.offsetMs;
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
  nowSeconds(): bigint {
    return BigInt(Math.floor(this.nowMs() / 1000));
  }
}

/**
 * A clock that stands still until the test moves it: time-based limits (the per-device rate
 * limiter) refill only when the test says so, never because the machine happened to be slow.
 * Starts at the real time, so connect tokens and voucher expiries signed with Date.now() fit.
 */
export class ManualClock implements Clock {
  private now = Date.now();
  nowMs(): number {
    return this.now;
  }
  advance(ms: number): void {
    this.now += ms;
  }
}

// ---------------------------------------------------------------------------------------------
// Sentinels: proving that something did NOT arrive without waiting "long enough"

/**
 * Resolves once everything the service had published to `device`'s in/voucher before this call
 * has reached the device's link. The device publishes a voucher that cannot parse; the service
 * answers it with a voucher.rejected (no channel, no seq) on the same inbox topic, at the same
 * QoS as verdicts and forwards, and the broker keeps per-client order. A forward the service
 * issued earlier (the service publishes a forward before the verdict of the voucher it forwards)
 * therefore arrives before this answer. Costs one message of the device's rate, changes no
 * ledger row.
 */
export async function voucherInboxFlushed(link: DeviceLink, device: string): Promise<void> {
  const answer = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      link.off('inbox', onInbox);
      reject(new Error(`no sentinel answer on ${device}'s in/voucher within 5000 ms`));
    }, 5_000);
    const onInbox = (box: string, payload: Uint8Array) => {
      if (box !== 'voucher') return;
      const m = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
      if (m.type !== 'voucher.rejected' || m.seq !== undefined || (m.error as Record<string, unknown> | undefined)?.code !== 'MESSAGE_INVALID') return;
      clearTimeout(timer);
      link.off('inbox', onInbox);
      resolve();
    };
    link.on('inbox', onInbox);
  });
  await publishOutbox(link.client, device, 'voucher', 'sentinel: not a voucher');
  await answer;
}

/**
 * Resolves with the next message the broker itself (not a client) publishes on `topic`, once
 * aedes has dispatched it to every matching subscription (or to none). Observes the real aedes
 * 'publish' event; nothing is replaced.
 */
export function nextServicePublish(broker: RunningBroker, topic: string, timeoutMs = 5_000): Promise<Buffer> {
  const aedes = broker.app.mqtt.aedes;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      aedes.off('publish', onPublish);
      reject(new Error(`the service published nothing on ${topic} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onPublish = (packet: { topic: string; payload: Buffer | string }, client: unknown) => {
      if (client !== null || packet.topic !== topic) return;
      clearTimeout(timer);
      aedes.off('publish', onPublish);
      resolve(Buffer.from(packet.payload));
    };
    aedes.on('publish', onPublish);
  });
}

// ---------------------------------------------------------------------------------------------
// Signatures and encodings

/** Returns the same signature with S replaced by S + L: the same curve equation, a non-canonical encoding. */
export function malleate(signatureHex: string): string {
  const signature = fromHex(signatureHex, 64);
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i] as number);
  let bumped = s + CURVE_ORDER;
  const out = new Uint8Array(signature);
  for (let i = 32; i < 64; i++) {
    out[i] = Number(bumped & 0xffn);
    bumped >>= 8n;
  }
  if (bumped !== 0n) throw new Error('S + L does not fit 32 bytes');
  return toHex(out);
}

/** Flips one bit of a hex string (at a byte offset). */
export function flipBit(hex: string, byteOffset: number): string {
  const bytes = fromHex(hex);
  bytes[byteOffset] = (bytes[byteOffset] as number) ^ 0x01;
  return toHex(bytes);
}

/** Signs arbitrary (possibly malformed) bytes, so the signature is not what rejects them. */
export function signedBytes(keys: KeyPair, bytes: Uint8Array): { v: 3; voucher: string; signature: string } {
  return { v: 3, voucher: toHex(bytes), signature: toHex(sign(bytes, keys.secretKey)) };
}

export function connectPassword(input: { device: string; broker: string; keys: KeyPair; timeMs?: number; nonce?: Uint8Array }): Buffer {
  return Buffer.from(signConnectPassword({
    device: input.device, broker: input.broker, timeMs: input.timeMs ?? Date.now(), nonce: input.nonce ?? random(CONNECT_NONCE_BYTES), secretKey: input.keys.secretKey, sign,
  }));
}

// ---------------------------------------------------------------------------------------------
// Hostile and plain MQTT clients

export interface ConnectOutcome {
  readonly connected: boolean;
  /** CONNACK return code of a refusal; null when the broker closed without one. */
  readonly returnCode: number | null;
  readonly client: MqttClient;
}

/** Connects once (no reconnect) with exactly the given options and reports what the broker said. */
export function tryConnect(url: string, options: IClientOptions, timeoutMs = 3_000): Promise<ConnectOutcome> {
  const client = mqtt.connect(url, { protocolVersion: 4, clean: true, keepalive: 30, reconnectPeriod: 0, connectTimeout: timeoutMs, ...options });
  return new Promise((resolve) => {
    let done = false;
    const finish = (outcome: Omit<ConnectOutcome, 'client'>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!outcome.connected) client.end(true);
      resolve({ ...outcome, client });
    };
    const timer = setTimeout(() => finish({ connected: false, returnCode: null }), timeoutMs + 500);
    client.once('connect', () => finish({ connected: true, returnCode: 0 }));
    client.on('error', (error: Error & { code?: unknown }) => finish({ connected: false, returnCode: typeof error.code === 'number' ? error.code : null }));
    client.once('close', () => finish({ connected: false, returnCode: null }));
  });
}

/** A device's own MQTT client with a fresh, valid token, subscribed to its inbox; never reconnects. */
export async function deviceClient(broker: RunningBroker, device: string, keys: KeyPair, extra: IClientOptions = {}): Promise<MqttClient> {
  const outcome = await tryConnect(broker.url, {
    clientId: device, username: device, password: connectPassword({ device, broker: broker.app.config.brokerId, keys }), ...extra,
  });
  if (!outcome.connected) throw new Error(`${device} could not connect (return code ${String(outcome.returnCode)})`);
  await outcome.client.subscribeAsync(inboxFilter(device), { qos: 1 });
  return outcome.client;
}

/** Resolves true when the client's connection closes within the time, false otherwise. */
export function closedWithin(client: MqttClient, timeoutMs = 3_000): Promise<boolean> {
  if (!client.connected) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.off('close', onClose);
      resolve(false);
    }, timeoutMs);
    const onClose = () => {
      clearTimeout(timer);
      resolve(true);
    };
    client.once('close', onClose);
  });
}

/** Waits for the next message on a topic (optionally matching); rejects after the timeout. */
export function nextMessage(client: MqttClient, topic: string, match: (message: Record<string, unknown>) => boolean = () => true, timeoutMs = 5_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no message on ${topic} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (received: string, payload: Buffer) => {
      if (received !== topic) return;
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
      } catch {
        return;
      }
      if (!match(message)) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve(message);
    };
    client.on('message', onMessage);
  });
}

/** Publishes raw bytes (or a JSON-encoded value) to a device's outbox at QoS 1. */
export function publishOutbox(client: MqttClient, device: string, box: OutboxKind, payload: Uint8Array | string | object): Promise<void> {
  const bytes = payload instanceof Uint8Array ? Buffer.from(payload) : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
  return client.publishAsync(outboxTopic(device, box), bytes, { qos: 1 }).then(() => undefined);
}

/** Sends any payload as a request on out/rpc and returns the whole reply on in/rpc with that id. */
export async function rawRequest(client: MqttClient, device: string, payload: Uint8Array | string | object, replyId: string): Promise<Record<string, unknown>> {
  const reply = nextMessage(client, inboxTopic(device, 'rpc'), (m) => m.id === replyId);
  await publishOutbox(client, device, 'rpc', payload);
  return reply;
}

/** A request through a DeviceLink's MQTT client, so the whole reply (not just the result) is seen. */
export function linkRequest(link: DeviceLink, device: string, method: string, params: unknown, id: string): Promise<Record<string, unknown>> {
  return rawRequest(link.client, device, { v: 3, id, method, params }, id);
}

let requestCounter = 0;
export const requestId = (prefix = 'req'): string => `${prefix}-${Date.now().toString(36)}-${(requestCounter += 1)}`;

/**
 * Publishes a voucher message (any shape) and waits for the verdict: the reply naming its channel
 * and seq when the bytes decode, or else the next reply that names none (refused before decoding).
 * Unlike the fixture's payVoucher it also matches a decodable voucher refused by the schema.
 */
export async function voucherVerdict(link: DeviceLink, message: object): Promise<Record<string, unknown>> {
  let key: { channel: string; seq: string } | null = null;
  const hex = (message as { voucher?: unknown }).voucher;
  if (typeof hex === 'string') {
    try {
      const voucher = decodeVoucher(fromHex(hex));
      key = { channel: toHex(voucher.channelId), seq: voucher.seq.toString() };
    } catch {
      key = null;
    }
  }
  const reply = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => {
      link.off('inbox', onInbox);
      reject(new Error('no voucher verdict within 5000 ms'));
    }, 5_000);
    const onInbox = (box: string, payload: Uint8Array) => {
      if (box !== 'voucher') return;
      const m = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
      if (m.type !== 'voucher.accepted' && m.type !== 'voucher.rejected') return;
      if (m.seq !== undefined && (key === null || m.channel !== key.channel || m.seq !== key.seq)) return;
      clearTimeout(timer);
      link.off('inbox', onInbox);
      resolve(m);
    };
    link.on('inbox', onInbox);
  });
  await link.publish('voucher', message);
  return reply;
}

/** Opens a channel through a link and returns its id. */
export async function openChannel(link: DeviceLink, payee: string, deposit: string, durationSeconds = 3_600): Promise<Uint8Array> {
  const channelId = newChannelId(random);
  await link.request('channel.open', { channel: toHex(channelId), payee, deposit, durationSeconds });
  return channelId;
}

export const micro = (value: bigint): Amount => value as Amount;

// ---------------------------------------------------------------------------------------------
// Raw MQTT packets for a plain TCP socket

/** An MQTT remaining length, 7 bits a byte [MQTT-2.2.3]. */
export function remainingLength(length: number): Buffer {
  const bytes: number[] = [];
  let value = length;
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    bytes.push(byte);
  } while (value > 0);
  return Buffer.from(bytes);
}

const field = (value: Buffer | string): Buffer => {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
};

/** An MQTT 3.1.1 CONNECT with clean session, username and password. */
export function connectPacket(input: { clientId: string; username: string; password: Buffer; keepaliveSeconds?: number }): Buffer {
  const keepalive = Buffer.alloc(2);
  keepalive.writeUInt16BE(input.keepaliveSeconds ?? 30);
  const variable = Buffer.concat([field('MQTT'), Buffer.from([4, 0x80 | 0x40 | 0x02]), keepalive]);
  const body = Buffer.concat([variable, field(input.clientId), field(input.username), field(input.password)]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

/** An MQTT PUBLISH at QoS 0. */
export function publishPacket(topic: string, payload: Buffer): Buffer {
  const body = Buffer.concat([field(topic), payload]);
  return Buffer.concat([Buffer.from([0x30]), remainingLength(body.length), body]);
}

/** Just the fixed header of a PUBLISH claiming a remaining length, without the body. */
export function publishHeader(claimedLength: number): Buffer {
  return Buffer.concat([Buffer.from([0x30]), remainingLength(claimedLength)]);
}

export interface RawConnection {
  readonly socket: Socket;
  /** Everything received so far. */
  received(): Buffer;
  /** Resolves when the socket closes (true) or the time runs out (false). */
  closed(timeoutMs?: number): Promise<boolean>;
  /** Resolves once at least `bytes` bytes were received. */
  receivedAtLeast(bytes: number, timeoutMs?: number): Promise<Buffer>;
}

export function rawConnection(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let isClosed = false;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      isClosed = true;
    });
    socket.once('connect', () => resolve({
      socket,
      received: () => Buffer.concat(chunks),
      closed: (timeoutMs = 3_000) => new Promise((done) => {
        if (isClosed) return done(true);
        const timer = setTimeout(() => done(false), timeoutMs);
        socket.once('close', () => {
          clearTimeout(timer);
          done(true);
        });
      }),
      receivedAtLeast: (bytes, timeoutMs = 3_000) => new Promise((done, fail) => {
        const check = (): boolean => {
          const all = Buffer.concat(chunks);
          if (all.length >= bytes) {
            finish();
            done(all);
            return true;
          }
          if (isClosed) {
            finish();
            fail(new Error(`connection closed after ${all.length} of ${bytes} bytes`));
            return true;
          }
          return false;
        };
        const onData = () => void check();
        const onClose = () => void check();
        const timer = setTimeout(() => {
          finish();
          fail(new Error(`received ${Buffer.concat(chunks).length} of ${bytes} bytes within ${timeoutMs} ms`));
        }, timeoutMs);
        function finish(): void {
          clearTimeout(timer);
          socket.off('data', onData);
          socket.off('close', onClose);
        }
        if (check()) return;
        socket.on('data', onData);
        socket.on('close', onClose);
      }),
    }));
    socket.once('error', reject);
  });
}
