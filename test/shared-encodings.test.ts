// The signed binary encodings: exact layouts (golden bytes), strict decoders, round trips, and
// "flip any byte and the signature no longer verifies" with both backends.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorCode } from './helpers/error-code.js';
import { amountOf, parseAmount, type Amount } from '../shared/amount.js';
import {
  CERTIFICATE_BYTES,
  CERTIFICATE_TAG,
  CERTIFICATE_VERSION,
  decodeCertificate,
  encodeCertificate,
  type ChannelCertificate,
} from '../shared/certificate.js';
import {
  CONNECT_PASSWORD_BYTES,
  CONNECT_TOKEN_BYTES,
  CONNECT_TOKEN_TAG,
  CONNECT_TOKEN_VERSION,
  checkBrokerId,
  decodeConnectToken,
  encodeConnectToken,
  joinConnectPassword,
  splitConnectPassword,
  type ConnectToken,
} from '../shared/connect-token.js';
import { backends, type SignatureBackend } from '../shared/crypto.js';
import { MqpayError } from '../shared/errors.js';
import { bytesEqual, fromHex, toHex } from '../shared/hex.js';
import { channelIdFromHex, channelIdToHex, newChannelId } from '../shared/ids.js';
import { decodeReceipt, encodeReceipt, RECEIPT_BYTES, RECEIPT_TAG, RECEIPT_VERSION, type Receipt } from '../shared/receipt.js';
import {
  decodeVoucher,
  encodeVoucher,
  memoDigestOf,
  memoMatches,
  VOUCHER_BYTES,
  VOUCHER_TAG,
  VOUCHER_VERSION,
  type Voucher,
} from '../shared/voucher.js';

const U64_MAX = (1n << 64n) - 1n;
const SEQ_MAX = (1n << 63n) - 1n;
const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
const range = (start: number, length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (start + i) & 0xff);


// ---- fixed inputs for the golden vectors ----

const SIGNER_SEED = range(0x01, 32); // 0x01..0x20
const PAYEE_SEED = range(0x21, 32); // 0x21..0x40
const SIGNER_KEY = backends.native.publicKeyOf(SIGNER_SEED);
const PAYEE_KEY = backends.native.publicKeyOf(PAYEE_SEED);
const CHANNEL = range(0xa0, 32);

/** The memo digest's salt in the golden voucher (protocol v2: salted memo digests). */
const MEMO_SALT = range(0x40, 16);
const GOLDEN_VOUCHER: Voucher = {
  channelId: CHANNEL,
  seq: 42n,
  total: parseAmount('12.345678'),
  expiresAtSeconds: 1_767_225_600n,
  memoDigest: memoDigestOf('coffee, 2 cups', MEMO_SALT),
};
const GOLDEN_VOUCHER_NO_MEMO: Voucher = { ...GOLDEN_VOUCHER, seq: 43n, memoDigest: null };
const GOLDEN_RECEIPT: Receipt = { channelId: CHANNEL, seq: 42n, total: parseAmount('12.345678') };
const GOLDEN_CERTIFICATE: ChannelCertificate = {
  channelId: CHANNEL,
  payer: 'ev.car-7',
  payerKey: SIGNER_KEY,
  payee: 'charger_2',
  payeeKey: PAYEE_KEY,
  deposit: parseAmount('50'),
  currency: 'EUR',
  expiresAtSeconds: 1_767_225_600n,
  revision: 3,
};
const GOLDEN_TOKEN: ConnectToken = {
  device: 'ev.car-7',
  broker: 'mqpay-eu-1',
  timeMs: 1_767_225_600_123n,
  nonce: range(0x10, 16),
};

// Computed once from the code above and pasted in: these lock the wire format.
const GOLDEN = {
  publicKey:
    '79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664',
  voucher: [
    '4d515041592d5643', // tag
    '01', // version
    'a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf', // channel id
    '000000000000002a', // seq
    '0000000000bc614e', // total
    '000000006955b900', // expires at
    '01', // memo flag
    '6d930f303c55c3979c2eb3a56c307833', // memo digest (salted, v2)
  ].join(''),
  voucherSignature:
    'a15cc13fe8a44ff43d707cebef193cfd1ab358af04eabf63b08cc920c5ce74e6e54028af0c07d74b419c715a0b1dcb6a7f6438a955ea7f41adb5ec49dfe3cb05',
  voucherNoMemo: [
    '4d515041592d5643', // tag
    '01', // version
    'a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf', // channel id
    '000000000000002b', // seq
    '0000000000bc614e', // total
    '000000006955b900', // expires at
    '00', // memo flag
    '00000000000000000000000000000000', // memo digest
  ].join(''),
  voucherNoMemoSignature:
    'b75c0e02e8deeb89b85b4c10a85f4de7572bbed951b520b6d618a7ccf3602bd9614a1f13015d2a52ce06a83d151c9403f73c2fb540f9b22430aed73614892709',
  receipt: [
    '4d515041592d5243', // tag
    '01', // version
    'a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf', // channel id
    '000000000000002a', // seq
    '0000000000bc614e', // total
  ].join(''),
  receiptSignature:
    'd6eba2ef91918d84f2a99bd10f009fb5047816e8cb1568ba509e714a8d126886f956dc58be3fa4994dfd6dda796310604d0343605e1c448d3a8f3d5c2123a70c',
  certificate: [
    '4d515041592d4343', // tag
    '02', // version (2: with the currency)
    'a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf', // channel id
    '08', // payer length
    '65762e6361722d37000000000000000000000000000000000000000000000000', // payer
    '79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664', // payer key
    '09', // payee length
    '636861726765725f320000000000000000000000000000000000000000000000', // payee
    'e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f0', // payee key
    '0000000002faf080', // deposit
    '455552', // currency 'EUR'
    '000000006955b900', // expires at
    '00000003', // revision
  ].join(''),
  certificateSignature:
    'e103fe93685c37a6eed1373d161d4e14d2e7309d18e6648733592ad89abc7a6ce8eff5c6a17bf64ad29a8f287d586df95ef79e36ea888bbdc76ab94363896a0c',
  token: [
    '4d515041592d4354', // tag
    '01', // version
    '08', // device length
    '65762e6361722d37000000000000000000000000000000000000000000000000', // device
    '0a', // broker length
    '6d717061792d65752d3100000000000000000000000000000000000000000000', // broker
    '0000019b76daa87b', // time ms
    '101112131415161718191a1b1c1d1e1f', // nonce
  ].join(''),
  tokenSignature:
    '15aaf5d0b37b937ad08498b7f6ed7364552c8ff8b99bcbb3867e574f1664e8ba797c569c495c010903c4c57e605295c151633b629e61a63214b08315fdef1301',
};

// ---- generic description of each signed kind ----

interface Kind<T> {
  readonly name: string;
  readonly size: number;
  readonly tag: Uint8Array;
  readonly tagText: string;
  readonly version: number;
  readonly encode: (value: T) => Uint8Array;
  readonly decode: (bytes: Uint8Array) => T;
  readonly arbitrary: fc.Arbitrary<T>;
  readonly golden: T;
}

const bytesArb = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });
const u64Arb = fc.oneof(fc.bigInt({ min: 0n, max: U64_MAX }), fc.constantFrom(0n, 1n, U64_MAX - 1n, U64_MAX));
const amountArb: fc.Arbitrary<Amount> = u64Arb.map((value) => amountOf(value));
const seqArb = fc.oneof(fc.bigInt({ min: 1n, max: SEQ_MAX }), fc.constantFrom(1n, 2n, SEQ_MAX));
const deviceIdArb = fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,31}$/);

const voucherArb: fc.Arbitrary<Voucher> = fc.record({
  channelId: bytesArb(32),
  seq: seqArb,
  total: amountArb,
  expiresAtSeconds: u64Arb,
  memoDigest: fc.option(bytesArb(16), { nil: null }),
});
const receiptArb: fc.Arbitrary<Receipt> = fc.record({ channelId: bytesArb(32), seq: seqArb, total: amountArb });
const certificateArb: fc.Arbitrary<ChannelCertificate> = fc.record({
  channelId: bytesArb(32),
  payer: deviceIdArb,
  payerKey: bytesArb(32),
  payee: deviceIdArb,
  payeeKey: bytesArb(32),
  deposit: amountArb,
  currency: fc.constantFrom('EUR', 'USD', 'JPY', 'AAA', 'ZZZ'),
  expiresAtSeconds: u64Arb,
  revision: fc.oneof(fc.integer({ min: 0, max: 0xffff_ffff }), fc.constantFrom(0, 0xffff_ffff)),
});
const tokenArb: fc.Arbitrary<ConnectToken> = fc.record({
  device: deviceIdArb,
  broker: deviceIdArb,
  timeMs: u64Arb,
  nonce: bytesArb(16),
});

const voucherKind: Kind<Voucher> = {
  name: 'voucher',
  size: 82,
  tag: VOUCHER_TAG,
  tagText: 'MQPAY-VC',
  version: VOUCHER_VERSION,
  encode: encodeVoucher,
  decode: decodeVoucher,
  arbitrary: voucherArb,
  golden: GOLDEN_VOUCHER,
};
const receiptKind: Kind<Receipt> = {
  name: 'receipt',
  size: 57,
  tag: RECEIPT_TAG,
  tagText: 'MQPAY-RC',
  version: RECEIPT_VERSION,
  encode: encodeReceipt,
  decode: decodeReceipt,
  arbitrary: receiptArb,
  golden: GOLDEN_RECEIPT,
};
const certificateKind: Kind<ChannelCertificate> = {
  name: 'certificate',
  size: 194,
  tag: CERTIFICATE_TAG,
  tagText: 'MQPAY-CC',
  version: CERTIFICATE_VERSION,
  encode: encodeCertificate,
  decode: decodeCertificate,
  arbitrary: certificateArb,
  golden: GOLDEN_CERTIFICATE,
};
const tokenKind: Kind<ConnectToken> = {
  name: 'connect token',
  size: 99,
  tag: CONNECT_TOKEN_TAG,
  tagText: 'MQPAY-CT',
  version: CONNECT_TOKEN_VERSION,
  encode: encodeConnectToken,
  decode: decodeConnectToken,
  arbitrary: tokenArb,
  golden: GOLDEN_TOKEN,
};

// Erase the element type so one loop can run every kind.
const kinds = [voucherKind, receiptKind, certificateKind, tokenKind] as unknown as Kind<unknown>[];

/** A tampered (bytes, signature) pair is accepted only if it decodes and verifies. */
function acceptedAfterTamper(
  kind: Kind<unknown>,
  backend: SignatureBackend,
  bytes: Uint8Array,
  signature: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  try {
    kind.decode(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(MqpayError);
    return false;
  }
  return backend.verify(signature, bytes, publicKey);
}

/** Flips one byte of `bytes || signature` at `position` with `mask`. */
function flip(bytes: Uint8Array, signature: Uint8Array, position: number, mask: number): [Uint8Array, Uint8Array] {
  const joined = new Uint8Array(bytes.length + signature.length);
  joined.set(bytes, 0);
  joined.set(signature, bytes.length);
  joined[position] = (joined[position] as number) ^ mask;
  return [joined.slice(0, bytes.length), joined.slice(bytes.length)];
}

// ---- golden vectors ----

describe('golden vectors (lock the wire format)', () => {
  it('sizes are the documented ones', () => {
    expect(VOUCHER_BYTES).toBe(82);
    expect(RECEIPT_BYTES).toBe(57);
    expect(CERTIFICATE_BYTES).toBe(194);
    expect(CONNECT_TOKEN_BYTES).toBe(99);
    expect(CONNECT_PASSWORD_BYTES).toBe(99 + 64);
  });

  it('the deterministic key', () => {
    expect(toHex(SIGNER_KEY)).toBe(GOLDEN.publicKey);
    expect(toHex(backends.noble.publicKeyOf(SIGNER_SEED))).toBe(GOLDEN.publicKey);
  });

  const cases = [
    ['voucher', () => encodeVoucher(GOLDEN_VOUCHER), GOLDEN.voucher, GOLDEN.voucherSignature],
    ['voucher without memo', () => encodeVoucher(GOLDEN_VOUCHER_NO_MEMO), GOLDEN.voucherNoMemo, GOLDEN.voucherNoMemoSignature],
    ['receipt', () => encodeReceipt(GOLDEN_RECEIPT), GOLDEN.receipt, GOLDEN.receiptSignature],
    ['certificate', () => encodeCertificate(GOLDEN_CERTIFICATE), GOLDEN.certificate, GOLDEN.certificateSignature],
    ['connect token', () => encodeConnectToken(GOLDEN_TOKEN), GOLDEN.token, GOLDEN.tokenSignature],
  ] as const;

  it.each(cases)('%s: exact bytes and exact signature from both backends', (_name, encode, bytesHex, signatureHex) => {
    const bytes = encode();
    expect(toHex(bytes)).toBe(bytesHex);
    for (const backend of Object.values(backends)) {
      expect(toHex(backend.sign(bytes, SIGNER_SEED))).toBe(signatureHex);
      expect(backend.verify(fromHex(signatureHex, 64), bytes, SIGNER_KEY)).toBe(true);
    }
  });

  it('voucher layout: tag | version | channel | seq | total | expiry | memo flag | memo digest', () => {
    const bytes = encodeVoucher(GOLDEN_VOUCHER);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(bytes.subarray(0, 8)).toEqual(ascii('MQPAY-VC'));
    expect(bytes[8]).toBe(1);
    expect(bytes.subarray(9, 41)).toEqual(CHANNEL);
    expect(view.getBigUint64(41)).toBe(42n);
    expect(view.getBigUint64(49)).toBe(12_345_678n);
    expect(view.getBigUint64(57)).toBe(1_767_225_600n);
    expect(bytes[65]).toBe(1);
    const memo = createHash('sha512').update(MEMO_SALT).update('coffee, 2 cups').digest().subarray(0, 16);
    expect(bytes.subarray(66, 82)).toEqual(new Uint8Array(memo));
    const plain = encodeVoucher(GOLDEN_VOUCHER_NO_MEMO);
    expect(plain[65]).toBe(0);
    expect(plain.subarray(66, 82)).toEqual(new Uint8Array(16));
  });

  it('receipt layout: tag | version | channel | seq | total', () => {
    const bytes = encodeReceipt(GOLDEN_RECEIPT);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(bytes.subarray(0, 8)).toEqual(ascii('MQPAY-RC'));
    expect(bytes[8]).toBe(1);
    expect(bytes.subarray(9, 41)).toEqual(CHANNEL);
    expect(view.getBigUint64(41)).toBe(42n);
    expect(view.getBigUint64(49)).toBe(12_345_678n);
  });

  it('certificate layout: tag | version | channel | payer (len+32) | payer key | payee (len+32) | payee key | deposit | currency | expiry | revision', () => {
    const bytes = encodeCertificate(GOLDEN_CERTIFICATE);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(bytes.subarray(0, 8)).toEqual(ascii('MQPAY-CC'));
    expect(bytes[8]).toBe(2);
    expect(bytes.subarray(9, 41)).toEqual(CHANNEL);
    expect(bytes[41]).toBe(8);
    expect(bytes.subarray(42, 50)).toEqual(ascii('ev.car-7'));
    expect(bytes.subarray(50, 74)).toEqual(new Uint8Array(24));
    expect(bytes.subarray(74, 106)).toEqual(SIGNER_KEY);
    expect(bytes[106]).toBe(9);
    expect(bytes.subarray(107, 116)).toEqual(ascii('charger_2'));
    expect(bytes.subarray(116, 139)).toEqual(new Uint8Array(23));
    expect(bytes.subarray(139, 171)).toEqual(PAYEE_KEY);
    expect(view.getBigUint64(171)).toBe(50_000_000n);
    expect(bytes.subarray(179, 182)).toEqual(ascii('EUR'));
    expect(view.getBigUint64(182)).toBe(1_767_225_600n);
    expect(view.getUint32(190)).toBe(3);
  });

  it('connect token layout: tag | version | device (len+32) | broker (len+32) | time ms | nonce', () => {
    const bytes = encodeConnectToken(GOLDEN_TOKEN);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(bytes.subarray(0, 8)).toEqual(ascii('MQPAY-CT'));
    expect(bytes[8]).toBe(1);
    expect(bytes[9]).toBe(8);
    expect(bytes.subarray(10, 18)).toEqual(ascii('ev.car-7'));
    expect(bytes.subarray(18, 42)).toEqual(new Uint8Array(24));
    expect(bytes[42]).toBe(10);
    expect(bytes.subarray(43, 53)).toEqual(ascii('mqpay-eu-1'));
    expect(bytes.subarray(53, 75)).toEqual(new Uint8Array(22));
    expect(view.getBigUint64(75)).toBe(1_767_225_600_123n);
    expect(bytes.subarray(83, 99)).toEqual(range(0x10, 16));
  });
});

// ---- strict decoding, per kind ----

describe.each(kinds)('$name encoding', (kind) => {
  const golden = kind.encode(kind.golden);

  it('has its size, domain tag and version', () => {
    expect(golden).toHaveLength(kind.size);
    expect(kind.tag).toEqual(ascii(kind.tagText));
    // The certificate is at layout version 2 (with the currency); the others at 1.
    expect(kind.version).toBe(kind.name === 'certificate' ? 2 : 1);
    expect(golden.subarray(0, 8)).toEqual(kind.tag);
    expect(golden[8]).toBe(kind.version);
  });

  it('round trips the golden value, also from a Buffer and from a subarray at an offset', () => {
    expect(kind.decode(golden)).toEqual(kind.golden);
    expect(kind.decode(Buffer.from(golden))).toEqual(kind.golden);
    const padded = new Uint8Array(kind.size + 11);
    padded.set(golden, 5);
    expect(kind.decode(padded.subarray(5, 5 + kind.size))).toEqual(kind.golden);
  });

  it('decoded byte fields are fresh copies, not views into the input (MQTT payloads arrive as Buffers)', () => {
    const input = Buffer.from(golden);
    const decoded = kind.decode(input);
    const fields = Object.values(decoded as object).filter((field): field is Uint8Array => field instanceof Uint8Array);
    expect(fields.length).toBeGreaterThan(0);
    for (const field of fields) expect(field.constructor.name).toBe('Uint8Array');
    input.fill(0xee);
    expect(decoded).toEqual(kind.golden);
  });

  it('round trips every value (encode -> decode -> equal -> encode -> same bytes)', () => {
    fc.assert(
      fc.property(kind.arbitrary, (value) => {
        const bytes = kind.encode(value);
        expect(bytes).toHaveLength(kind.size);
        const decoded = kind.decode(bytes);
        expect(decoded).toEqual(value);
        expect(bytesEqual(kind.encode(decoded), bytes)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses every length but the exact one with ENCODING_INVALID', () => {
    for (let length = 0; length <= kind.size + 70; length++) {
      if (length === kind.size) continue;
      const bytes = new Uint8Array(length);
      bytes.set(golden.subarray(0, Math.min(length, kind.size)));
      expect(errorCode(() => kind.decode(bytes))).toBe('ENCODING_INVALID');
    }
    expect(errorCode(() => kind.decode(new Uint8Array(kind.size * 10)))).toBe('ENCODING_INVALID');
  });

  it('refuses trailing bytes and a missing last byte', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), (extra) => {
        const longer = new Uint8Array(kind.size + extra.length);
        longer.set(golden, 0);
        longer.set(extra, kind.size);
        expect(errorCode(() => kind.decode(longer))).toBe('ENCODING_INVALID');
      }),
      { numRuns: 50 },
    );
    expect(errorCode(() => kind.decode(golden.subarray(0, kind.size - 1)))).toBe('ENCODING_INVALID');
  });

  it('refuses what is not a Uint8Array', () => {
    expect(errorCode(() => kind.decode(Array.from(golden) as unknown as Uint8Array))).toBe('ENCODING_INVALID');
    expect(errorCode(() => kind.decode(toHex(golden) as unknown as Uint8Array))).toBe('ENCODING_INVALID');
  });

  it('refuses any change to the domain tag', () => {
    for (let position = 0; position < 8; position++) {
      for (const mask of [0x01, 0x20, 0x80, 0xff]) {
        const bytes = golden.slice();
        bytes[position] = (bytes[position] as number) ^ mask;
        expect(errorCode(() => kind.decode(bytes))).toBe('ENCODING_INVALID');
      }
    }
    for (const other of ['MQPAY-VC', 'MQPAY-RC', 'MQPAY-CC', 'MQPAY-CT', 'mqpay-vc']) {
      if (other === kind.tagText) continue;
      const bytes = golden.slice();
      bytes.set(ascii(other), 0);
      expect(errorCode(() => kind.decode(bytes))).toBe('ENCODING_INVALID');
    }
  });

  it.each([0, 1, 2, 3, 0x81, 0xff].filter((version) => version !== kind.version))('refuses version %i (any but its own)', (version) => {
    const bytes = golden.slice();
    bytes[8] = version;
    expect(errorCode(() => kind.decode(bytes))).toBe('ENCODING_INVALID');
  });
});

describe('voucher rules', () => {
  const golden = encodeVoucher(GOLDEN_VOUCHER);
  const withU64 = (bytes: Uint8Array, offset: number, value: bigint): Uint8Array => {
    const copy = bytes.slice();
    new DataView(copy.buffer).setBigUint64(offset, value);
    return copy;
  };

  it('seq must be in [1, 2^63-1], on encode and on decode', () => {
    for (const seq of [0n, SEQ_MAX + 1n, U64_MAX]) {
      expect(errorCode(() => encodeVoucher({ ...GOLDEN_VOUCHER, seq }))).toBe('ENCODING_INVALID');
      expect(errorCode(() => decodeVoucher(withU64(golden, 41, seq)))).toBe('ENCODING_INVALID');
    }
    expect(decodeVoucher(withU64(golden, 41, SEQ_MAX)).seq).toBe(SEQ_MAX);
    expect(decodeVoucher(withU64(golden, 41, 1n)).seq).toBe(1n);
  });

  it('a receipt seq obeys the same range, on encode and on decode', () => {
    const receipt = encodeReceipt(GOLDEN_RECEIPT);
    for (const seq of [0n, SEQ_MAX + 1n, U64_MAX]) {
      expect(errorCode(() => encodeReceipt({ ...GOLDEN_RECEIPT, seq }))).toBe('ENCODING_INVALID');
      expect(errorCode(() => decodeReceipt(withU64(receipt, 41, seq)))).toBe('ENCODING_INVALID');
    }
    expect(decodeReceipt(withU64(receipt, 41, SEQ_MAX)).seq).toBe(SEQ_MAX);
  });

  it('total and expiry use the whole u64 range; a total outside it cannot be encoded', () => {
    expect(decodeVoucher(withU64(golden, 49, U64_MAX)).total).toBe(U64_MAX);
    expect(decodeVoucher(withU64(golden, 57, U64_MAX)).expiresAtSeconds).toBe(U64_MAX);
    expect(errorCode(() => encodeVoucher({ ...GOLDEN_VOUCHER, total: (U64_MAX + 1n) as Amount }))).toBe('AMOUNT_OVERFLOW');
    expect(errorCode(() => encodeVoucher({ ...GOLDEN_VOUCHER, total: -1n as Amount }))).toBe('AMOUNT_NEGATIVE');
  });

  it('memo flag must be 0 or 1', () => {
    for (const flag of [2, 3, 0x80, 0xff]) {
      const bytes = golden.slice();
      bytes[65] = flag;
      expect(errorCode(() => decodeVoucher(bytes))).toBe('ENCODING_INVALID');
    }
  });

  it('flag 0 requires an all-zero digest field', () => {
    const plain = encodeVoucher(GOLDEN_VOUCHER_NO_MEMO);
    expect(decodeVoucher(plain).memoDigest).toBeNull();
    for (let position = 66; position < 82; position++) {
      const bytes = plain.slice();
      bytes[position] = 1;
      expect(errorCode(() => decodeVoucher(bytes))).toBe('ENCODING_INVALID');
    }
    // Dropping the flag of a voucher with a memo does not silently drop the memo.
    const dropped = golden.slice();
    dropped[65] = 0;
    expect(errorCode(() => decodeVoucher(dropped))).toBe('ENCODING_INVALID');
  });

  it('flag 1 keeps the digest, even an all-zero one', () => {
    const zeroMemo = encodeVoucher({ ...GOLDEN_VOUCHER, memoDigest: new Uint8Array(16) });
    expect(zeroMemo[65]).toBe(1);
    expect(decodeVoucher(zeroMemo).memoDigest).toEqual(new Uint8Array(16));
    expect(bytesEqual(zeroMemo, encodeVoucher(GOLDEN_VOUCHER_NO_MEMO))).toBe(false);
  });

  it('memoDigestOf is the first 16 bytes of SHA-512 of salt || UTF-8 memo, memo at most 256 characters', () => {
    for (const memo of ['', 'coffee, 2 cups', 'kWh № 7 ⚡', 'x'.repeat(256)]) {
      const expected = new Uint8Array(createHash('sha512').update(MEMO_SALT).update(memo, 'utf8').digest().subarray(0, 16));
      expect(memoDigestOf(memo, MEMO_SALT)).toEqual(expected);
    }
    expect(errorCode(() => memoDigestOf('x'.repeat(257), MEMO_SALT))).toBe('MESSAGE_INVALID');
    expect(errorCode(() => memoDigestOf(5 as unknown as string, MEMO_SALT))).toBe('MESSAGE_INVALID');
    expect(errorCode(() => memoDigestOf('coffee', new Uint8Array(15)))).toBe('MESSAGE_INVALID');
  });

  it('a salted memo digest cannot be confirmed by hashing a guess: only memo and salt together match', () => {
    const digest = memoDigestOf('coffee', MEMO_SALT);
    const unsalted = new Uint8Array(createHash('sha512').update('coffee', 'utf8').digest().subarray(0, 16));
    expect(digest).not.toEqual(unsalted);
    expect(memoDigestOf('coffee', range(0x41, 16))).not.toEqual(digest);
    expect(memoMatches(digest, 'coffee', MEMO_SALT)).toBe(true);
    expect(memoMatches(digest, 'tea', MEMO_SALT)).toBe(false);
    expect(memoMatches(digest, 'coffee', range(0x41, 16))).toBe(false);
    expect(memoMatches(null, 'coffee', MEMO_SALT)).toBe(false);
  });

  it('fields of the wrong width cannot be encoded', () => {
    expect(() => encodeVoucher({ ...GOLDEN_VOUCHER, channelId: new Uint8Array(31) })).toThrow();
    expect(() => encodeVoucher({ ...GOLDEN_VOUCHER, memoDigest: new Uint8Array(17) })).toThrow();
    expect(() => encodeReceipt({ ...GOLDEN_RECEIPT, channelId: new Uint8Array(33) })).toThrow();
    expect(() => encodeConnectToken({ ...GOLDEN_TOKEN, nonce: new Uint8Array(15) })).toThrow();
    expect(() => encodeCertificate({ ...GOLDEN_CERTIFICATE, payeeKey: new Uint8Array(31) })).toThrow();
    expect(() => encodeCertificate({ ...GOLDEN_CERTIFICATE, revision: 2 ** 32 })).toThrow();
    expect(() => encodeCertificate({ ...GOLDEN_CERTIFICATE, revision: -1 })).toThrow();
  });
});

describe('text fields (device and broker ids)', () => {
  // [kind, golden bytes, offset of the length byte of each text field]
  const certificate = encodeCertificate(GOLDEN_CERTIFICATE);
  const token = encodeConnectToken(GOLDEN_TOKEN);
  const fields = [
    ['certificate payer', certificate, 41, decodeCertificate],
    ['certificate payee', certificate, 106, decodeCertificate],
    ['token device', token, 9, decodeConnectToken],
    ['token broker', token, 42, decodeConnectToken],
  ] as const;

  it.each(fields)('%s: non-zero padding is refused', (_name, golden, offset, decode) => {
    const length = golden[offset] as number;
    for (let i = length; i < 32; i++) {
      for (const value of [0x01, 0x20, 0x61, 0xff]) {
        const bytes = golden.slice();
        bytes[offset + 1 + i] = value;
        expect(errorCode(() => decode(bytes))).toBe('ENCODING_INVALID');
      }
    }
  });

  it.each(fields)('%s: a length past the field width is refused', (_name, golden, offset, decode) => {
    for (const length of [33, 64, 255]) {
      const bytes = golden.slice();
      bytes[offset] = length;
      expect(errorCode(() => decode(bytes))).toBe('ENCODING_INVALID');
    }
  });

  it.each(fields)('%s: a non-printable byte inside the text is refused', (_name, golden, offset, decode) => {
    for (const value of [0x00, 0x1f, 0x7f, 0x80, 0xe9]) {
      const bytes = golden.slice();
      bytes[offset + 2] = value;
      expect(errorCode(() => decode(bytes))).toBe('ENCODING_INVALID');
    }
  });

  it('printable text that is not a valid id is refused with the id error', () => {
    const upper = certificate.slice();
    upper[42] = 'E'.charCodeAt(0);
    expect(errorCode(() => decodeCertificate(upper))).toBe('DEVICE_ID_INVALID');
    const empty = certificate.slice();
    empty.fill(0, 41, 74);
    expect(errorCode(() => decodeCertificate(empty))).toBe('DEVICE_ID_INVALID');
    const slash = token.slice();
    slash[12] = '/'.charCodeAt(0);
    expect(errorCode(() => decodeConnectToken(slash))).toBe('DEVICE_ID_INVALID');
    const broker = token.slice();
    broker[43] = '$'.charCodeAt(0);
    expect(errorCode(() => decodeConnectToken(broker))).toBe('TOKEN_INVALID');
  });

  it('invalid ids cannot be encoded', () => {
    expect(errorCode(() => encodeCertificate({ ...GOLDEN_CERTIFICATE, payer: 'Car' }))).toBe('DEVICE_ID_INVALID');
    expect(errorCode(() => encodeCertificate({ ...GOLDEN_CERTIFICATE, payee: 'a'.repeat(33) }))).toBe('DEVICE_ID_INVALID');
    expect(errorCode(() => encodeConnectToken({ ...GOLDEN_TOKEN, device: 'a/b' }))).toBe('DEVICE_ID_INVALID');
    expect(errorCode(() => encodeConnectToken({ ...GOLDEN_TOKEN, broker: '' }))).toBe('TOKEN_INVALID');
    expect(errorCode(() => encodeConnectToken({ ...GOLDEN_TOKEN, broker: 'b'.repeat(33) }))).toBe('TOKEN_INVALID');
    expect(checkBrokerId('b'.repeat(32))).toBe('b'.repeat(32));
  });

  it('certificate currency: three ASCII A-Z at byte 179, else CURRENCY_INVALID; a version 1 certificate is refused', () => {
    expect(new TextDecoder().decode(certificate.subarray(179, 182))).toBe('EUR');
    for (const value of [0x00, 0x20, 0x40, 0x5b, 0x61, 0x7a, 0xc3]) {
      const bytes = certificate.slice();
      bytes[180] = value;
      expect(errorCode(() => decodeCertificate(bytes))).toBe('CURRENCY_INVALID');
    }
    expect(errorCode(() => encodeCertificate({ ...GOLDEN_CERTIFICATE, currency: 'eur' }))).toBe('CURRENCY_INVALID');
    expect(errorCode(() => encodeCertificate({ ...GOLDEN_CERTIFICATE, currency: 'EURO' }))).toBe('CURRENCY_INVALID');
    const v1 = new Uint8Array([...certificate.subarray(0, 179), ...certificate.subarray(182)]);
    v1[8] = 1;
    expect(errorCode(() => decodeCertificate(v1))).toBe('ENCODING_INVALID');
    const versionOne = certificate.slice();
    versionOne[8] = 1;
    expect(errorCode(() => decodeCertificate(versionOne))).toBe('ENCODING_INVALID');
  });

  it('ids of the full 32 characters fill the field exactly', () => {
    const long = { ...GOLDEN_CERTIFICATE, payer: 'p'.repeat(32), payee: '9'.repeat(32) };
    const bytes = encodeCertificate(long);
    expect(bytes[41]).toBe(32);
    expect(bytes[106]).toBe(32);
    expect(decodeCertificate(bytes)).toEqual(long);
  });
});

describe('connect password', () => {
  const tokenBytes = encodeConnectToken(GOLDEN_TOKEN);
  const signature = backends.native.sign(tokenBytes, SIGNER_SEED);

  it('is token bytes followed by the signature, and splits back', () => {
    const password = joinConnectPassword(tokenBytes, signature);
    expect(password).toHaveLength(163);
    expect(password.subarray(0, 99)).toEqual(tokenBytes);
    expect(password.subarray(99)).toEqual(signature);
    const split = splitConnectPassword(password);
    expect(split.tokenBytes).toEqual(tokenBytes);
    expect(split.signature).toEqual(signature);
  });

  it('split parts are plain copies, also from a Buffer', () => {
    const password = Buffer.from(joinConnectPassword(tokenBytes, signature));
    const split = splitConnectPassword(password);
    password.fill(0);
    expect(split.tokenBytes.constructor.name).toBe('Uint8Array');
    expect(split.signature.constructor.name).toBe('Uint8Array');
    expect(split.tokenBytes).toEqual(tokenBytes);
    expect(split.signature).toEqual(signature);
  });

  it('refuses wrong lengths with TOKEN_INVALID', () => {
    expect(errorCode(() => joinConnectPassword(tokenBytes.subarray(1), signature))).toBe('TOKEN_INVALID');
    expect(errorCode(() => joinConnectPassword(tokenBytes, signature.subarray(1)))).toBe('TOKEN_INVALID');
    for (const length of [0, 99, 162, 164, 1000]) {
      expect(errorCode(() => splitConnectPassword(new Uint8Array(length)))).toBe('TOKEN_INVALID');
    }
    expect(errorCode(() => splitConnectPassword('x'.repeat(163) as unknown as Uint8Array))).toBe('TOKEN_INVALID');
  });
});

describe('hex and channel ids', () => {
  it('round trip bytes through lower-case hex', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const hex = toHex(bytes);
        expect(hex).toBe(Buffer.from(bytes).toString('hex'));
        expect(fromHex(hex)).toEqual(bytes);
        expect(fromHex(hex.toUpperCase(), bytes.length)).toEqual(bytes);
      }),
    );
  });

  it.each(['0', 'abc', 'zz', '0x00', ' 00', '00 ', 'g0'])('fromHex refuses %j', (text) => {
    expect(errorCode(() => fromHex(text))).toBe('ENCODING_INVALID');
  });

  it('fromHex pins the length when asked', () => {
    expect(errorCode(() => fromHex('0011', 3))).toBe('ENCODING_INVALID');
    expect(errorCode(() => fromHex('001122', 2))).toBe('ENCODING_INVALID');
    expect(fromHex('001122', 3)).toEqual(Uint8Array.from([0, 0x11, 0x22]));
  });

  it('bytesEqual compares content and length', () => {
    expect(bytesEqual(Uint8Array.from([1, 2]), Uint8Array.from([1, 2]))).toBe(true);
    expect(bytesEqual(Uint8Array.from([1, 2]), Uint8Array.from([1, 3]))).toBe(false);
    expect(bytesEqual(Uint8Array.from([1, 2]), Uint8Array.from([1, 2, 0]))).toBe(false);
  });

  it('channel ids are 32 bytes, 64 hex characters', () => {
    const id = newChannelId((length) => range(7, length));
    expect(id).toEqual(range(7, 32));
    expect(channelIdToHex(id)).toBe(toHex(range(7, 32)));
    expect(channelIdFromHex(channelIdToHex(id))).toEqual(id);
    expect(errorCode(() => channelIdToHex(new Uint8Array(31)))).toBe('ENCODING_INVALID');
    expect(errorCode(() => channelIdFromHex('00'.repeat(33)))).toBe('ENCODING_INVALID');
    expect(() => newChannelId(() => new Uint8Array(16))).toThrow();
  });
});

// ---- tampering: any flipped byte of the encoding or the signature is refused ----

const tamperRuns: Record<SignatureBackend['name'], number> = { native: 150, noble: 12 };

describe.each(Object.values(backends))('tampering with $name', (backend) => {
  const signerSeed = fc.uint8Array({ minLength: 32, maxLength: 32 });

  it.each(kinds)('$name: flipping any one byte of the encoding or the signature fails verification', (kind) => {
    fc.assert(
      fc.property(
        kind.arbitrary,
        signerSeed,
        fc.integer({ min: 0, max: kind.size + 64 - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (value, seed, position, mask) => {
          const bytes = kind.encode(value);
          const publicKey = backend.publicKeyOf(seed);
          const signature = backend.sign(bytes, seed);
          expect(backend.verify(signature, bytes, publicKey)).toBe(true);
          const [tamperedBytes, tamperedSignature] = flip(bytes, signature, position, mask);
          expect(acceptedAfterTamper(kind, backend, tamperedBytes, tamperedSignature, publicKey)).toBe(false);
        },
      ),
      { numRuns: tamperRuns[backend.name] },
    );
  });

  it.each(kinds)('$name (golden): every position, a random mask each', (kind) => {
    const bytes = kind.encode(kind.golden);
    const signature = backend.sign(bytes, SIGNER_SEED);
    expect(backend.verify(signature, bytes, SIGNER_KEY)).toBe(true);
    const masks = fc.sample(fc.integer({ min: 1, max: 255 }), { numRuns: kind.size + 64, seed: 42 });
    const accepted: number[] = [];
    for (let position = 0; position < kind.size + 64; position++) {
      const [tamperedBytes, tamperedSignature] = flip(bytes, signature, position, masks[position] ?? 1);
      if (acceptedAfterTamper(kind, backend, tamperedBytes, tamperedSignature, SIGNER_KEY)) accepted.push(position);
    }
    expect(accepted).toEqual([]);
  });

  it('a signature by another key does not verify', () => {
    const bytes = encodeVoucher(GOLDEN_VOUCHER);
    const signature = backend.sign(bytes, PAYEE_SEED);
    expect(backend.verify(signature, bytes, PAYEE_KEY)).toBe(true);
    expect(backend.verify(signature, bytes, SIGNER_KEY)).toBe(false);
  });
});
