// Keys (the enrolment check), identifiers, the topic scheme, the wire schemas and the error registry.
import * as noble from '@noble/ed25519';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorCode } from './helpers/error-code.js';
import { backends } from '../shared/crypto.js';
import { ERROR_CODES, ERRORS, isErrorCode, MqpayError, type ErrorCode } from '../shared/errors.js';
import { toHex } from '../shared/hex.js';
import { checkDeviceId, isDeviceId, isRequestId } from '../shared/ids.js';
import { checkPublicKey, generateKeyPair, publicKeyFromHex, publicKeyProblem, publicKeyToHex } from '../shared/keys.js';
import { PAYLOAD_BYTES_MAX } from '../shared/limits.js';
import {
  amountSchema,
  encodePayload,
  errorBodySchema,
  noticeSchema,
  offerMessageSchema,
  parsePayload,
  PROTOCOL_VERSION,
  receiptInboxSchema,
  receiptMessageSchema,
  rpcRequestSchema,
  rpcResponseSchema,
  seqSchema,
  voucherInboxSchema,
  voucherMessageSchema,
} from '../shared/schemas.js';
import {
  INBOX_KINDS,
  inboxFilter,
  inboxTopic,
  offerTopic,
  OPS_STREAMS,
  opsTopic,
  OUTBOX_FILTER,
  OUTBOX_KINDS,
  outboxTopic,
  parseTopic,
  TOPIC_ROOT,
} from '../shared/topics.js';


const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));
const FIELD_PRIME = (1n << 255n) - 19n;
const seedArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const deviceIdArb = fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,31}$/);

// ---- keys ----

// The 8 points of order dividing 8, canonically encoded (the usual blocklist; checked below
// with noble's arithmetic rather than trusted).
const SMALL_ORDER = [
  '0100000000000000000000000000000000000000000000000000000000000000', // identity, order 1
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // order 2
  '0000000000000000000000000000000000000000000000000000000000000000', // order 4
  '0000000000000000000000000000000000000000000000000000000000000080', // order 4
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8
];

const NON_CANONICAL = [
  ['edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'y = p'],
  ['edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', 'y = p, sign bit'],
  ['eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'y = p + 1 (the identity)'],
  ['f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'y = p + 3 (an on-curve y)'],
  ['ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'y = 2^255 - 1'],
  ['ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', 'y = 2^255 - 1, sign bit'],
  ['0100000000000000000000000000000000000000000000000000000000000080', 'x = 0 with sign bit (y = 1)'],
  ['ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', 'x = 0 with sign bit (y = p - 1)'],
] as const;

// y values for which x^2 = (y^2 - 1) / (d y^2 + 1) has no root: not points at all.
const OFF_CURVE = [
  '0200000000000000000000000000000000000000000000000000000000000000', // y = 2
  '0200000000000000000000000000000000000000000000000000000000000080', // y = 2, sign bit
  '0700000000000000000000000000000000000000000000000000000000000000', // y = 7
  '1100000000000000000000000000000000000000000000000000000000000000', // y = 17
];

describe('the small-order blocklist used in the test', () => {
  it('is exactly the 8 distinct points whose order divides 8', () => {
    const points = SMALL_ORDER.map((hex) => noble.Point.fromBytes(bytes(hex)));
    for (const point of points) {
      expect(point.multiplyUnsafe(8n).is0()).toBe(true);
    }
    expect(points.filter((p) => p.is0())).toHaveLength(1);
    expect(new Set(points.map((p) => p.toHex())).size).toBe(8);
    expect(points.map((p) => p.toHex())).toEqual(SMALL_ORDER);
    const orders = points.map((p) => [1n, 2n, 4n, 8n].find((n) => p.multiplyUnsafe(n).is0()));
    expect(orders).toEqual([1n, 2n, 4n, 4n, 8n, 8n, 8n, 8n]);
  });
});

describe('publicKeyProblem / checkPublicKey (the enrolment check)', () => {
  it('accepts generated keys', () => {
    fc.assert(
      fc.property(seedArb, (seed) => {
        const publicKey = backends.native.publicKeyOf(seed);
        expect(publicKeyProblem(publicKey)).toBeNull();
        expect(checkPublicKey(publicKey)).toBe(publicKey);
        expect(publicKeyFromHex(publicKeyToHex(publicKey))).toEqual(publicKey);
        expect(publicKeyFromHex(publicKeyToHex(publicKey).toUpperCase())).toEqual(publicKey);
      }),
      { numRuns: 100 },
    );
  });

  it('generateKeyPair takes its randomness from the caller', () => {
    const pair = generateKeyPair((length) => new Uint8Array(length).fill(9));
    expect(pair.secretKey).toEqual(new Uint8Array(32).fill(9));
    expect(pair.publicKey).toEqual(backends.noble.publicKeyOf(pair.secretKey));
    expect(publicKeyProblem(pair.publicKey)).toBeNull();
    expect(() => generateKeyPair(() => new Uint8Array(31))).toThrow();
  });

  it.each(NON_CANONICAL)('refuses non-canonical %s (%s)', (hex) => {
    expect(publicKeyProblem(bytes(hex))).toBe('non-canonical encoding');
    expect(errorCode(() => checkPublicKey(bytes(hex)))).toBe('KEY_INVALID');
    expect(() => noble.Point.fromBytes(bytes(hex), false)).toThrow(); // noble's strict decoding agrees
  });

  it.each(SMALL_ORDER)('refuses the small-order point %s', (hex) => {
    expect(publicKeyProblem(bytes(hex))).toBe('small-order point');
    expect(errorCode(() => checkPublicKey(bytes(hex)))).toBe('KEY_INVALID');
    expect(errorCode(() => publicKeyFromHex(hex))).toBe('KEY_INVALID');
  });

  it('refuses mixed-order keys: a valid key plus each non-identity small-order point', () => {
    const seeds = fc.sample(seedArb, { numRuns: 3, seed: 7 });
    for (const seed of seeds) {
      const publicKey = backends.native.publicKeyOf(seed);
      const message = new TextEncoder().encode('pay 0.000125');
      const signature = backends.native.sign(message, seed);
      for (const small of SMALL_ORDER.slice(1)) {
        const mixed = noble.Point.fromBytes(publicKey).add(noble.Point.fromBytes(bytes(small))).toBytes();
        expect(toHex(mixed)).not.toBe(toHex(publicKey));
        expect(publicKeyProblem(mixed)).toBe('has a low-order component');
        expect(errorCode(() => checkPublicKey(mixed))).toBe('KEY_INVALID');
        expect(errorCode(() => publicKeyFromHex(toHex(mixed)))).toBe('KEY_INVALID');
        // And the honest signature does not verify under the tampered key, with either backend.
        expect(backends.native.verify(signature, message, mixed)).toBe(false);
        expect(backends.noble.verify(signature, message, mixed)).toBe(false);
      }
    }
  });

  it.each(OFF_CURVE)('refuses the off-curve encoding %s', (hex) => {
    expect(() => noble.Point.fromBytes(bytes(hex))).toThrow();
    expect(publicKeyProblem(bytes(hex))).toBe('not a point on the curve');
    expect(errorCode(() => checkPublicKey(bytes(hex)))).toBe('KEY_INVALID');
  });

  it.each([0, 31, 33, 64])('refuses %i bytes', (length) => {
    expect(publicKeyProblem(new Uint8Array(length))).toBe('not 32 bytes');
    expect(errorCode(() => checkPublicKey(new Uint8Array(length)))).toBe('KEY_INVALID');
  });

  it('refuses hex of the wrong length or that is not hex', () => {
    expect(errorCode(() => publicKeyFromHex('00'.repeat(31)))).toBe('KEY_INVALID');
    expect(errorCode(() => publicKeyFromHex('00'.repeat(33)))).toBe('KEY_INVALID');
    expect(errorCode(() => publicKeyFromHex('zz'.repeat(32)))).toBe('ENCODING_INVALID');
    expect(errorCode(() => publicKeyFromHex(5 as unknown as string))).toBe('KEY_INVALID');
  });

  it('classifies any 32 bytes the same way as an independent check built on noble', () => {
    const independent = (key: Uint8Array): string | null => {
      const last = key[31] as number;
      let y = 0n;
      for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? last & 0x7f : (key[i] as number));
      if (y >= FIELD_PRIME) return 'non-canonical encoding';
      let point: noble.Point;
      try {
        point = noble.Point.fromBytes(key, true); // lenient decoding; the strictness is checked here
      } catch {
        return 'not a point on the curve';
      }
      if (point.x === 0n && last >> 7 === 1) return 'non-canonical encoding';
      if (point.isSmallOrder()) return 'small-order point';
      if (!point.isTorsionFree()) return 'has a low-order component';
      return null;
    };
    const keyArb = fc.oneof(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      seedArb.map((seed) => backends.native.publicKeyOf(seed)),
      fc.constantFrom(...SMALL_ORDER, ...NON_CANONICAL.map(([hex]) => hex), ...OFF_CURVE).map(bytes),
    );
    fc.assert(
      fc.property(keyArb, (key) => {
        expect(publicKeyProblem(key)).toBe(independent(key));
      }),
      { numRuns: 300 },
    );
  });
});

// ---- identifiers ----

describe('device ids', () => {
  it.each(['fridge-1', 'ev.charger_2', 'a', '0', '9lives', 'a'.repeat(32), 'x-y.z_0', 'a..b'])('accepts %j', (id) => {
    expect(isDeviceId(id)).toBe(true);
    expect(checkDeviceId(id)).toBe(id);
  });

  it.each([
    '',
    'A',
    'Fridge',
    'fridgE',
    'ev.Charger_2',
    'a-B',
    'a/b',
    '+',
    '#',
    'a+',
    'a#',
    '$sys',
    '$SYS',
    '-a',
    '.a',
    '_a',
    'a b',
    ' a',
    'a\n',
    'a'.repeat(33),
    'é',
    'fridgé',
    'a\u0000',
  ])('refuses %j', (id) => {
    expect(isDeviceId(id)).toBe(false);
    expect(errorCode(() => checkDeviceId(id))).toBe('DEVICE_ID_INVALID');
  });

  it('refuses non-strings', () => {
    expect(isDeviceId(5)).toBe(false);
    expect(isDeviceId(null)).toBe(false);
    expect(errorCode(() => checkDeviceId(undefined))).toBe('DEVICE_ID_INVALID');
  });

  it('a valid id is always one safe MQTT topic level', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        if (!isDeviceId(text)) return;
        expect(text).not.toMatch(/[/+#\s]/);
        expect(text.startsWith('$')).toBe(false);
        expect(text.length).toBeGreaterThanOrEqual(1);
        expect(text.length).toBeLessThanOrEqual(32);
      }),
    );
  });
});

describe('request ids', () => {
  it.each(['1', 'req-1', 'a:b.c_d', 'ABC', 'x'.repeat(64)])('accepts %j', (id) => {
    expect(isRequestId(id)).toBe(true);
  });
  it.each(['', 'x'.repeat(65), 'a b', 'a/b', 'é', 'a#'])('refuses %j', (id) => {
    expect(isRequestId(id)).toBe(false);
  });
});

// ---- topics ----

describe('topics', () => {
  it('builds the documented topics', () => {
    expect(TOPIC_ROOT).toBe('mqpay/v1');
    expect(outboxTopic('fridge-1', 'voucher')).toBe('mqpay/v1/d/fridge-1/out/voucher');
    expect(inboxTopic('fridge-1', 'notice')).toBe('mqpay/v1/d/fridge-1/in/notice');
    expect(inboxFilter('fridge-1')).toBe('mqpay/v1/d/fridge-1/in/#');
    expect(offerTopic('ev.charger_2')).toBe('mqpay/v1/offers/ev.charger_2');
    expect(opsTopic('settlements')).toBe('mqpay/v1/ops/settlements');
    expect(OUTBOX_FILTER).toBe('mqpay/v1/d/+/out/+');
    expect([...OUTBOX_KINDS]).toEqual(['voucher', 'receipt', 'rpc', 'offer', 'voucher-bin', 'receipt-bin', 'tick']);
    expect([...INBOX_KINDS]).toEqual(['voucher', 'receipt', 'rpc', 'notice', 'voucher-bin', 'receipt-bin', 'tick']);
    expect([...OPS_STREAMS]).toEqual(['settlements', 'events']);
  });

  it('parses what it builds, for every kind and any device id', () => {
    fc.assert(
      fc.property(deviceIdArb, fc.constantFrom(...OUTBOX_KINDS), fc.constantFrom(...INBOX_KINDS), (device, outKind, inKind) => {
        expect(parseTopic(outboxTopic(device, outKind))).toEqual({ kind: 'outbox', device, box: outKind });
        expect(parseTopic(inboxTopic(device, inKind))).toEqual({ kind: 'inbox', device, box: inKind });
        expect(parseTopic(offerTopic(device))).toEqual({ kind: 'offer', device });
        expect(parseTopic(inboxFilter(device))).toBeNull();
      }),
    );
    for (const stream of OPS_STREAMS) expect(parseTopic(opsTopic(stream))).toEqual({ kind: 'ops', stream });
  });

  it.each([
    ['', 'empty'],
    ['mqpay', 'root only'],
    ['mqpay/v1', 'no area'],
    ['mqpay/v1/d/fridge-1', 'too shallow'],
    ['mqpay/v1/d/fridge-1/out', 'too shallow'],
    ['mqpay/v1/d/fridge-1/out/voucher/x', 'too deep'],
    ['mqpay/v1/d/fridge-1/out/voucher/', 'trailing slash'],
    ['/mqpay/v1/d/fridge-1/out/voucher', 'leading slash'],
    ['mqpay/v2/d/fridge-1/out/voucher', 'wrong version'],
    ['MQPAY/v1/d/fridge-1/out/voucher', 'wrong root'],
    ['mqpay/v1/x/fridge-1/out/voucher', 'unknown area'],
    ['mqpay/v1/d/+/out/voucher', 'wildcard device'],
    ['mqpay/v1/d/fridge-1/out/+', 'wildcard kind'],
    ['mqpay/v1/d/fridge-1/out/#', 'multi-level wildcard'],
    ['mqpay/v1/d/fridge-1/+/voucher', 'wildcard box'],
    ['mqpay/v1/#', 'wildcard below root'],
    ['mqpay/v1/d/fridge-1/out/notice', 'notice is inbox-only'],
    ['mqpay/v1/d/fridge-1/in/offer', 'offer is outbox-only'],
    ['mqpay/v1/d/fridge-1/out/payment', 'unknown kind'],
    ['mqpay/v1/d/fridge-1/inbox/voucher', 'unknown box'],
    ['mqpay/v1/d/Fridge-1/out/voucher', 'upper-case device'],
    ['mqpay/v1/d//out/voucher', 'empty device'],
    ['mqpay/v1/d/$sys/out/voucher', '$ device'],
    [`mqpay/v1/d/${'a'.repeat(33)}/out/voucher`, 'device id too long'],
    ['mqpay/v1/offers', 'offer without device'],
    ['mqpay/v1/offers/fridge-1/x', 'offer too deep'],
    ['mqpay/v1/offers/+', 'offer wildcard'],
    ['mqpay/v1/ops/ledger', 'unknown ops stream'],
    ['mqpay/v1/ops/settlements/x', 'ops too deep'],
    ['mqpay/v1/ops/#', 'ops wildcard'],
    ['$SYS/broker/uptime', '$SYS'],
    [`mqpay/v1/d/fridge-1/out/voucher${'/x'.repeat(60)}`, 'too long and too deep'],
    [`mqpay/v1/d/${'a'.repeat(120)}/out/voucher`, 'longer than the topic limit'],
  ])('refuses %j (%s)', (topic) => {
    expect(parseTopic(topic)).toBeNull();
  });

  it('refuses non-strings', () => {
    expect(parseTopic(undefined as unknown as string)).toBeNull();
  });
});

// ---- schemas ----

const CHANNEL_HEX = 'ab'.repeat(32);
const validVoucherMessage = { v: 3, voucher: '00'.repeat(82), signature: '11'.repeat(64) };
const validOpen = {
  v: 3,
  id: 'req-1',
  method: 'channel.open',
  params: { channel: CHANNEL_HEX, payee: 'ev.charger_2', deposit: '12.5', durationSeconds: 3600 },
};

function messageError(run: () => unknown): ErrorCode | 'no error' {
  return errorCode(run);
}

describe('parsePayload with the wire schemas', () => {
  it('accepts a voucher message, from a string or from bytes', () => {
    expect(parsePayload(voucherMessageSchema, JSON.stringify(validVoucherMessage))).toEqual(validVoucherMessage);
    expect(parsePayload(voucherMessageSchema, encodePayload(validVoucherMessage))).toEqual(validVoucherMessage);
    expect(parsePayload(voucherMessageSchema, Buffer.from(JSON.stringify(validVoucherMessage)))).toEqual(validVoucherMessage);
  });

  it('accepts a receipt message and a signed offer, and refuses the unsigned v2 offer', () => {
    const receipt = { v: 3, receipt: 'cd'.repeat(57), signature: 'ef'.repeat(64) };
    expect(parsePayload(receiptMessageSchema, JSON.stringify(receipt))).toEqual(receipt);
    const offer = { v: PROTOCOL_VERSION, offer: '0f'.repeat(86), signature: 'ef'.repeat(64) };
    expect(parsePayload(offerMessageSchema, JSON.stringify(offer))).toEqual(offer);
    expect(errorCode(() => parsePayload(offerMessageSchema, JSON.stringify({ v: PROTOCOL_VERSION, unit: 'Wh', price: '0.000125' })))).toBe('MESSAGE_INVALID');
  });

  it('turns amounts into bigint micro-units', () => {
    const parsed = parsePayload(rpcRequestSchema, JSON.stringify(validOpen));
    expect(parsed).toEqual({ ...validOpen, params: { ...validOpen.params, deposit: 12_500_000n } });
    const topup = { v: 3, id: 'r2', method: 'channel.topup', params: { channel: CHANNEL_HEX, amount: '18446744073709.551615' } };
    expect(parsePayload(rpcRequestSchema, JSON.stringify(topup))).toEqual({ ...topup, params: { ...topup.params, amount: (1n << 64n) - 1n } });
  });

  it('accepts every rpc method', () => {
    for (const method of ['wallet.balance', 'channel.list']) {
      expect(parsePayload(rpcRequestSchema, JSON.stringify({ v: 3, id: 'x', method, params: {} })).method).toBe(method);
    }
    const close = { v: 3, id: 'x', method: 'channel.close', params: { channel: CHANNEL_HEX } };
    expect(parsePayload(rpcRequestSchema, JSON.stringify(close))).toEqual(close);
  });

  it('checks size first: a payload of exactly the limit is read, one byte more is MESSAGE_TOO_LARGE', () => {
    const json = JSON.stringify(validVoucherMessage);
    const atLimit = json + ' '.repeat(PAYLOAD_BYTES_MAX - json.length);
    expect(PAYLOAD_BYTES_MAX).toBe(4096);
    expect(parsePayload(voucherMessageSchema, atLimit)).toEqual(validVoucherMessage);
    expect(messageError(() => parsePayload(voucherMessageSchema, `${atLimit} `))).toBe('MESSAGE_TOO_LARGE');
    expect(messageError(() => parsePayload(voucherMessageSchema, new Uint8Array(PAYLOAD_BYTES_MAX + 1)))).toBe('MESSAGE_TOO_LARGE');
    expect(messageError(() => parsePayload(voucherMessageSchema, 'x'.repeat(100_000)))).toBe('MESSAGE_TOO_LARGE');
  });

  it('counts bytes, not characters', () => {
    // 2,050 characters, 4,098 bytes: too large although far fewer than 4,096 characters.
    expect(messageError(() => parsePayload(offerMessageSchema, `"${'é'.repeat(2048)}"`))).toBe('MESSAGE_TOO_LARGE');
    // 4,096 bytes exactly: read, then refused for its shape.
    expect(messageError(() => parsePayload(offerMessageSchema, `"${'é'.repeat(2047)}"`))).toBe('MESSAGE_INVALID');
  });

  it.each([
    ['', 'empty'],
    ['{', 'truncated'],
    ["{'v':1}", 'single quotes'],
    ['{"v":2,}', 'trailing comma'],
    ['NaN', 'not JSON'],
    ['undefined', 'not JSON'],
  ])('refuses malformed JSON %j (%s) with MESSAGE_INVALID', (text) => {
    expect(messageError(() => parsePayload(voucherMessageSchema, text))).toBe('MESSAGE_INVALID');
  });

  it('refuses bytes that are not UTF-8', () => {
    const invalid = Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x7d]);
    expect(messageError(() => parsePayload(voucherMessageSchema, invalid))).toBe('MESSAGE_INVALID');
  });

  it.each([
    ['unknown top-level field', { ...validVoucherMessage, extra: 1 }],
    ['__proto__ field', JSON.parse('{"v":2,"voucher":"' + '00'.repeat(82) + '","signature":"' + '11'.repeat(64) + '","__proto__":{}}')],
    ['missing field', { v: 3, voucher: validVoucherMessage.voucher }],
    ['version as a string', { ...validVoucherMessage, v: '1' }],
    ['version 1 (the previous protocol)', { ...validVoucherMessage, v: 1 }],
    ['voucher as a number', { ...validVoucherMessage, voucher: 5 }],
    ['voucher one byte short', { ...validVoucherMessage, voucher: '00'.repeat(81) }],
    ['voucher one byte long', { ...validVoucherMessage, voucher: '00'.repeat(83) }],
    ['upper-case hex', { ...validVoucherMessage, signature: 'AB'.repeat(64) }],
    ['non-hex', { ...validVoucherMessage, signature: 'zz'.repeat(64) }],
    ['an array', [validVoucherMessage]],
    ['null', null],
    ['a number', 42],
  ])('voucher message: refuses %s', (_name, message) => {
    expect(messageError(() => parsePayload(voucherMessageSchema, JSON.stringify(message)))).toBe('MESSAGE_INVALID');
  });

  const withParams = (params: Record<string, unknown>) => ({ ...validOpen, params: { ...validOpen.params, ...params } });
  it.each([
    ['unknown params field', withParams({ memo: 'x' })],
    ['unknown method', { ...validOpen, method: 'channel.steal' }],
    ['deposit as a number', withParams({ deposit: 12.5 })],
    ['negative deposit', withParams({ deposit: '-1' })],
    ['deposit with 7 decimals', withParams({ deposit: '0.0000001' })],
    ['deposit past u64', withParams({ deposit: '18446744073709.551616' })],
    ['deposit in exponent form', withParams({ deposit: '1e3' })],
    ['deposit with blanks', withParams({ deposit: ' 1' })],
    ['deposit too long', withParams({ deposit: '1'.repeat(28) })],
    ['bad payee', withParams({ payee: 'Bad/Payee' })],
    ['short channel id', withParams({ channel: 'ab'.repeat(31) })],
    ['duration not an integer', withParams({ durationSeconds: 3600.5 })],
    ['duration too short', withParams({ durationSeconds: 59 })],
    ['duration too long', withParams({ durationSeconds: 366 * 24 * 3600 + 1 })],
    ['duration as a string', withParams({ durationSeconds: '3600' })],
    ['bad request id', { ...validOpen, id: 'a b' }],
    ['request id too long', { ...validOpen, id: 'x'.repeat(65) }],
    ['params on wallet.balance', { v: 3, id: 'x', method: 'wallet.balance', params: { all: true } }],
  ])('rpc request: refuses %s', (_name, message) => {
    expect(messageError(() => parsePayload(rpcRequestSchema, JSON.stringify(message)))).toBe('MESSAGE_INVALID');
  });

  it('reports the path of the first problem', () => {
    try {
      parsePayload(rpcRequestSchema, JSON.stringify(withParams({ deposit: '-1' })));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(MqpayError);
      expect((error as MqpayError).detail).toMatch(/^params\.deposit: /);
    }
  });

  it('service messages: replies, forwarded vouchers and receipts, notices', () => {
    const errorBody = { code: 'VOUCHER_ABOVE_DEPOSIT', message: 'voucher total exceeds the channel deposit', retryable: false };
    // Seqs and amounts arrive parsed: bigint seq, bigint micro-units.
    expect(parsePayload(voucherInboxSchema, JSON.stringify({ v: 3, type: 'voucher.accepted', channel: CHANNEL_HEX, seq: '7', total: '1.5' })))
      .toEqual({ v: 3, type: 'voucher.accepted', channel: CHANNEL_HEX, seq: 7n, total: 1_500_000n });
    expect(parsePayload(noticeSchema, JSON.stringify({ v: 3, type: 'channel.closed', channel: CHANNEL_HEX, settled: '1', refunded: '2' })))
      .toEqual({ v: 3, type: 'channel.closed', channel: CHANNEL_HEX, settled: 1_000_000n, refunded: 2_000_000n });
    const replies: Array<[Parameters<typeof parsePayload>[0], unknown]> = [
      [voucherInboxSchema, { v: 3, type: 'voucher.rejected', error: { ...errorBody, detail: 'total 3 > deposit 2' } }],
      [voucherInboxSchema, { v: 3, type: 'voucher.rejected', error: errorBody }],
      [voucherInboxSchema, { v: 3, type: 'voucher', payer: 'ev.car-7', voucher: '00'.repeat(82), signature: '11'.repeat(64) }],
      [receiptInboxSchema, { v: 3, type: 'receipt.rejected', error: errorBody }],
      [rpcResponseSchema, { v: 3, id: 'req-1', ok: true, result: { balance: '3.25' } }],
      [rpcResponseSchema, { v: 3, id: 'req-1', ok: false, error: errorBody }],
    ];
    for (const [schema, message] of replies) expect(parsePayload(schema, JSON.stringify(message))).toEqual(message);
    expect(messageError(() => parsePayload(voucherInboxSchema, JSON.stringify({ v: 3, type: 'voucher.lost' })))).toBe('MESSAGE_INVALID');
    expect(
      messageError(() => parsePayload(rpcResponseSchema, JSON.stringify({ v: 3, id: 'r', ok: true, error: errorBody }))),
    ).toBe('MESSAGE_INVALID');
  });

  it('error bodies carry only registered codes', () => {
    expect(errorBodySchema.safeParse({ code: 'SIGNATURE_INVALID', message: 'x', retryable: false }).success).toBe(true);
    expect(errorBodySchema.safeParse({ code: 'NO_SUCH_CODE', message: 'x', retryable: false }).success).toBe(false);
    expect(errorBodySchema.safeParse({ code: 'SIGNATURE_INVALID', message: 'x'.repeat(513), retryable: false }).success).toBe(false);
  });

  it('amountSchema and seqSchema on their own', () => {
    expect(amountSchema.parse('0.000125')).toBe(125n);
    expect(amountSchema.safeParse('0.0000001').success).toBe(false);
    expect(amountSchema.safeParse(125).success).toBe(false);
    expect(seqSchema.parse('1')).toBe(1n);
    expect(seqSchema.parse('9223372036854775807')).toBe(9_223_372_036_854_775_807n);
    for (const bad of ['0', '01', '-1', '1.0', '9223372036854775808', '99999999999999999999', '', ' 1']) {
      expect(seqSchema.safeParse(bad).success).toBe(false);
    }
  });
});

// ---- errors ----

describe('error registry', () => {
  it('every code has a message and a boolean retryable', () => {
    expect(ERROR_CODES.length).toBe(Object.keys(ERRORS).length);
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    for (const code of ERROR_CODES) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
      const entry = ERRORS[code];
      expect(typeof entry.message).toBe('string');
      expect(entry.message.length).toBeGreaterThan(0);
      expect(typeof entry.retryable).toBe('boolean');
      expect(isErrorCode(code)).toBe(true);
    }
  });

  it('holds the codes the protocol relies on, with the right retryability', () => {
    const expected: Array<[ErrorCode, boolean]> = [
      ['AMOUNT_INVALID', false],
      ['AMOUNT_NEGATIVE', false],
      ['AMOUNT_OVERFLOW', false],
      ['ENCODING_INVALID', false],
      ['KEY_INVALID', false],
      ['MESSAGE_INVALID', false],
      ['MESSAGE_TOO_LARGE', false],
      ['SIGNATURE_INVALID', false],
      ['VOUCHER_SEQ_NOT_INCREASING', false],
      ['VOUCHER_ABOVE_DEPOSIT', false],
      ['RATE_LIMITED', true],
      ['SERVICE_UNAVAILABLE', true],
      ['TIMEOUT', true],
    ];
    for (const [code, retryable] of expected) {
      expect(isErrorCode(code)).toBe(true);
      expect(ERRORS[code].retryable).toBe(retryable);
    }
  });

  it('isErrorCode refuses anything else', () => {
    for (const value of ['', 'nope', 'signature_invalid', 'toString', '__proto__', 5, null]) {
      expect(isErrorCode(value)).toBe(false);
    }
  });

  it('MqpayError carries code, retryable and detail', () => {
    const plain = new MqpayError('RATE_LIMITED');
    expect(plain).toBeInstanceOf(Error);
    expect(plain.name).toBe('MqpayError');
    expect(plain.code).toBe('RATE_LIMITED');
    expect(plain.retryable).toBe(true);
    expect(plain.detail).toBeUndefined();
    expect(plain.message).toBe(ERRORS.RATE_LIMITED.message);

    const detailed = new MqpayError('SIGNATURE_INVALID', 'voucher seq 7');
    expect(detailed.retryable).toBe(false);
    expect(detailed.detail).toBe('voucher seq 7');
    expect(detailed.message).toBe('signature does not verify: voucher seq 7');
  });
});
