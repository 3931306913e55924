// Malformed MQTT into a real broker listener, over raw TCP sockets: truncated frames, wrong and
// huge remaining lengths, PUBLISH topics that are not UTF-8, random bytes after a valid (and
// authenticated) CONNECT, mutated CONNECTs and plain noise. The broker must not crash, its heap
// must not grow with the garbage (measured after a forced GC), and a well-behaved device must
// still be served afterwards. Used by test/fuzz-mqtt.test.ts (short) and test/fuzz/mqtt.fuzz.ts.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { KeyPair } from '../../shared/keys.js';
import { connectPacket, connectPassword, publishPacket, rawConnection, remainingLength } from '../helpers/broker-adversary.js';
import type { RunningBroker } from '../helpers/broker-fixture.js';
import { seededInt, seededRandom } from '../helpers/seed.js';
import { randomBytes as systemRandomBytes } from 'node:crypto';
import { DeviceLink } from '../../agent/link/link.js';

/** A forced full GC: global.gc under --expose-gc, otherwise the flag is set at run time. */
export function forceGc(): void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing !== undefined) return existing();
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

export function heapAfterGc(): number {
  forceGc();
  forceGc(); // a second pass collects what the first one's finalizers released
  return process.memoryUsage().heapUsed;
}

export const CASES = ['truncated-connect', 'wrong-remaining-length', 'huge-remaining-length', 'bad-utf8-topic', 'random-after-connect', 'mutated-connect', 'noise', 'truncated-publish'] as const;
export type FuzzCase = (typeof CASES)[number];

const randomBytes = (next: () => number, count: number): Buffer => Buffer.from(Array.from({ length: count }, () => seededInt(next, 0, 256)));

// Byte strings that are not UTF-8 (or are, but MQTT forbids them: NUL, U+FFFF), for topics.
const BAD_UTF8 = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0x00], [0xef, 0xbf, 0xbf], [0xf8, 0x88, 0x80, 0x80, 0x80]];

export interface FuzzTarget {
  readonly port: number;
  readonly brokerId: string;
  /** An enrolled device whose CONNECTs are valid, so the garbage reaches the authenticated paths. */
  readonly device: string;
  readonly keys: KeyPair;
}

let tokenClock = 0;
/** A valid CONNECT for the fuzzing device; each token is later than the last, as the broker requires. */
function validConnect(target: FuzzTarget, next: () => number): Buffer {
  tokenClock = Math.max(tokenClock + 1, Date.now());
  return connectPacket({ clientId: target.device, username: target.device, password: connectPassword({ device: target.device, broker: target.brokerId, keys: target.keys, timeMs: tokenClock }), keepaliveSeconds: seededInt(next, 0, 120) });
}

/** The bytes of one hostile connection. */
export function hostileBytes(kind: FuzzCase, target: FuzzTarget, next: () => number): Buffer {
  const connect = validConnect(target, next);
  switch (kind) {
    case 'truncated-connect':
      return connect.subarray(0, seededInt(next, 1, connect.length));
    case 'wrong-remaining-length': {
      const body = connect.subarray(2); // this CONNECT's remaining length fits one byte
      const claimed = Math.max(0, body.length + seededInt(next, -body.length, 40));
      return Buffer.concat([Buffer.from([0x10, ...remainingLength(claimed)]), body]);
    }
    case 'huge-remaining-length': {
      const claimed = seededInt(next, 1 << 20, 268_435_455); // up to the largest MQTT can state
      const type = [0x10, 0x30, 0x32, 0x82, 0xf0][seededInt(next, 0, 5)] as number;
      const prefix = type === 0x10 ? [] : [...connect];
      return Buffer.concat([Buffer.from(prefix), Buffer.from([type, ...remainingLength(claimed)]), randomBytes(next, seededInt(next, 0, 2_000))]);
    }
    case 'bad-utf8-topic': {
      const bad = BAD_UTF8[seededInt(next, 0, BAD_UTF8.length)] as number[];
      const topic = Buffer.concat([Buffer.from(`mqpay/v1/d/${target.device}/out/`), Buffer.from(bad), Buffer.from('rpc')]);
      const field = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic]);
      const qos = seededInt(next, 0, 2);
      const body = Buffer.concat([field, qos === 1 ? Buffer.from([0, 1]) : Buffer.alloc(0), Buffer.from('{"v":2}')]);
      return Buffer.concat([connect, Buffer.from([0x30 | (qos << 1), ...remainingLength(body.length)]), body]);
    }
    case 'random-after-connect':
      return Buffer.concat([connect, randomBytes(next, seededInt(next, 1, 600))]);
    case 'mutated-connect': {
      const mutated = Buffer.from(connect);
      for (let i = seededInt(next, 1, 6); i > 0; i--) mutated[seededInt(next, 0, mutated.length)] = seededInt(next, 0, 256);
      return mutated;
    }
    case 'noise':
      return randomBytes(next, seededInt(next, 1, 400));
    case 'truncated-publish': {
      const publish = publishPacket(`mqpay/v1/d/${target.device}/out/voucher`, randomBytes(next, seededInt(next, 10, 300)));
      return Buffer.concat([connect, publish.subarray(0, seededInt(next, 1, publish.length))]);
    }
  }
}

export interface MqttFuzzFigures {
  readonly connections: number;
  readonly bytes: number;
  readonly closedByBroker: number;
  readonly byCase: Record<string, number>;
}

const CLOSE_WAIT_MS = 5_000;

/** One hostile connection: send, then end our side; resolves when the socket is closed. */
async function oneConnection(target: FuzzTarget, bytes: Buffer, split: number): Promise<boolean> {
  const connection = await rawConnection(target.port);
  // Sometimes in two writes, so frames also arrive cut across TCP segments.
  if (split > 0 && split < bytes.length) {
    connection.socket.write(bytes.subarray(0, split));
    connection.socket.write(bytes.subarray(split));
  } else {
    connection.socket.write(bytes);
  }
  connection.socket.end();
  const closed = await connection.closed(CLOSE_WAIT_MS);
  if (!closed) connection.socket.destroy();
  return closed;
}

/** Runs `count` hostile connections, `parallel` at a time, chosen from the seed. */
export async function fuzzListener(target: FuzzTarget, seed: number, count: number, parallel = 16): Promise<MqttFuzzFigures> {
  const next = seededRandom(seed);
  const byCase: Record<string, number> = {};
  let bytes = 0;
  let closedByBroker = 0;
  let done = 0;
  while (done < count) {
    const batch: Promise<boolean>[] = [];
    for (let i = 0; i < parallel && done < count; i++, done++) {
      const kind = CASES[seededInt(next, 0, CASES.length)] as FuzzCase;
      const packet = hostileBytes(kind, target, next);
      byCase[kind] = (byCase[kind] ?? 0) + 1;
      bytes += packet.length;
      batch.push(oneConnection(target, packet, next() < 0.3 ? seededInt(next, 1, packet.length + 1) : 0));
    }
    for (const closed of await Promise.all(batch)) if (closed) closedByBroker += 1;
  }
  return { connections: count, bytes, closedByBroker, byCase };
}

/** The broker's target: a freshly enrolled fuzzing device on a running test broker. */
export function targetOf(broker: RunningBroker, device = 'fuzzer-1'): FuzzTarget {
  return { port: broker.mqttPort, brokerId: broker.app.config.brokerId, device, keys: broker.enrol(device) };
}

/** Heap growth allowed across a run: far below what keeping even a fraction of the garbage would cost. */
export const HEAP_GROWTH_BYTES_MAX = 4 * 1024 * 1024;

export interface ListenerFuzzRun {
  readonly figures: MqttFuzzFigures;
  readonly heapBeforeBytes: number;
  readonly heapAfterBytes: number;
  readonly seconds: number;
  /** A well-behaved device and the fuzzing device itself, each with one answered request after the run. */
  readonly servedAfter: readonly unknown[];
}

/**
 * One fuzz run against a running broker: a warm-up (the first connections load code and fill
 * caches that are not leaks), the heap after a forced GC, `count` hostile connections, the heap
 * again, then a request from an honest device and from the fuzzing device.
 */
export async function runListenerFuzz(broker: RunningBroker, seed: number, count: number, warmup: number): Promise<ListenerFuzzRun> {
  const target = targetOf(broker);
  const honestKeys = broker.enrol('honest-1', '10');
  await fuzzListener(target, seed ^ 0x5a5a, warmup);
  const warm = await broker.link('honest-1', honestKeys);
  await warm.request('wallet.balance', {});
  await warm.close();
  const heapBeforeBytes = heapAfterGc();
  const startedMs = Date.now();
  const figures = await fuzzListener(target, seed, count);
  const seconds = (Date.now() - startedMs) / 1000;
  const heapAfterBytes = heapAfterGc();
  const honest = await broker.link('honest-1', honestKeys);
  // The fuzzing device's tokens ran ahead of the wall clock (one millisecond per connection);
  // its own proper connection must sign a later one, as the broker requires of every token.
  const fuzzer = await DeviceLink.connect({
    url: broker.url, device: target.device, secretKey: target.keys.secretKey, brokerId: broker.app.config.brokerId,
    clock: { nowMs: () => Math.max(Date.now(), tokenClock + 1) }, random: (length) => new Uint8Array(systemRandomBytes(length)), requestTimeoutMs: 5_000,
  });
  const servedAfter = [await honest.request('wallet.balance', {}), await fuzzer.request('wallet.balance', {})];
  await fuzzer.close();
  return { figures, heapBeforeBytes, heapAfterBytes, seconds, servedAfter };
}
