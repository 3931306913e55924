// The binary frames of protocol v3 (shared/signed-frames.ts, shared/inbox-frames.ts): the golden
// vectors of test/vectors/protocol/frames.json, the frozen error index table, and property tests
// (seeded fast-check) that every frame round-trips and that every other length is refused.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { amountOf } from '../shared/amount.js';
import { ERROR_CODE_TABLE, errorCodeAt, errorIndexOf } from '../shared/error-index.js';
import { ERRORS, MqpayError, type ErrorCode } from '../shared/errors.js';
import { bytesEqual, fromHex, toHex } from '../shared/hex.js';
import {
  decodeReceiptInboxFrame, decodeVoucherInboxFrame, encodeReceiptForward, encodeReceiptRejected, encodeVoucherAccepted, encodeVoucherForward, encodeVoucherRejected,
  REJECTED_FRAME_BYTES, RECEIPT_FORWARD_FRAME_BYTES, VOUCHER_ACCEPTED_FRAME_BYTES, VOUCHER_FORWARD_FRAME_BYTES,
} from '../shared/inbox-frames.js';
import { encodeReceipt } from '../shared/receipt.js';
import { decodeReceiptFrame, decodeVoucherFrame, encodeReceiptFrame, encodeVoucherFrame, RECEIPT_FRAME_BYTES, standalone, VOUCHER_FRAME_BYTES } from '../shared/signed-frames.js';
import { encodeVoucher } from '../shared/voucher.js';
import { errorCode } from './helpers/error-code.js';
import { FRAME_CODECS, frameCodec } from './helpers/frame-codecs.js';
import { toNeutral } from './helpers/protocol-vectors.js';
import { testSeed } from './helpers/seed.js';

const SEED = testSeed(20_261_205);
const RUNS = 300;

interface FrameFile {
  readonly errorIndexes: readonly { readonly index: number; readonly code: string }[];
  readonly valid: readonly { readonly kind: string; readonly name: string; readonly bytes: string; readonly decoded: unknown }[];
  readonly invalid: readonly { readonly kind: string; readonly name: string; readonly bytes: string; readonly error: string }[];
}
const file = JSON.parse(readFileSync(new URL('./vectors/protocol/frames.json', import.meta.url), 'utf8')) as FrameFile;

describe('binary frames: golden vectors (frames.json)', () => {
  it('list every error code with its frozen index, and only those', () => {
    expect(file.errorIndexes).toEqual(ERROR_CODE_TABLE.map((code, index) => ({ index, code })));
    expect(new Set(ERROR_CODE_TABLE).size).toBe(ERROR_CODE_TABLE.length);
    // A code added to shared/errors.ts must be appended to shared/error-index.ts.
    expect([...ERROR_CODE_TABLE].sort()).toEqual(Object.keys(ERRORS).sort());
  });

  it('cover every frame box, and every kind byte', () => {
    expect(new Set(file.valid.map((entry) => entry.kind))).toEqual(new Set(FRAME_CODECS.map((codec) => codec.kind)));
    const kinds = file.valid.filter((entry) => entry.kind.startsWith('in/')).map((entry) => `${entry.kind}:${fromHex(entry.bytes)[9]}`);
    expect(new Set(kinds)).toEqual(new Set(['in/voucher-bin:1', 'in/voucher-bin:2', 'in/voucher-bin:3', 'in/receipt-bin:1', 'in/receipt-bin:2']));
  });

  for (const entry of file.valid) {
    it(`${entry.kind}: ${entry.name} decodes to its recorded form and re-encodes to its bytes`, () => {
      const codec = frameCodec(entry.kind);
      const decoded = codec.decode(fromHex(entry.bytes));
      expect(toNeutral(decoded)).toEqual(entry.decoded);
      expect(toHex(codec.encode(decoded as never))).toBe(entry.bytes);
    });
  }

  for (const entry of file.invalid) {
    it(`${entry.kind}: ${entry.name} is refused with ${entry.error}`, () => {
      expect(errorCode(() => frameCodec(entry.kind).decode(fromHex(entry.bytes)))).toBe(entry.error);
    });
  }
});

describe('binary frames: the error index', () => {
  it('maps each code to its index and back; an unknown index is refused, a code missing from the table travels as INTERNAL', () => {
    for (const [index, code] of ERROR_CODE_TABLE.entries()) {
      expect(errorIndexOf(code)).toBe(index);
      expect(errorCodeAt(index)).toBe(code);
    }
    expect(errorCode(() => errorCodeAt(ERROR_CODE_TABLE.length))).toBe('ENCODING_INVALID');
    expect(errorIndexOf('NO_SUCH_CODE' as ErrorCode)).toBe(0);
  });
});

// ---- properties ----
const bytesArb = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });
const seqArb = fc.bigInt({ min: 1n, max: (1n << 63n) - 1n });
const totalArb = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((value) => amountOf(value));
const deviceArb = fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,31}$/).filter((id) => id !== 'operator');
const codeArb = fc.constantFrom(...ERROR_CODE_TABLE);
const keyArb = fc.option(fc.record({ channelId: bytesArb(32), seq: seqArb }), { nil: null });
const voucherBytesArb = fc.record({ channelId: bytesArb(32), seq: seqArb, total: totalArb, expiresAtSeconds: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), memoDigest: fc.option(bytesArb(16), { nil: null }) }).map(encodeVoucher);
const receiptBytesArb = fc.record({ channelId: bytesArb(32), seq: seqArb, total: totalArb }).map(encodeReceipt);
const options = { seed: SEED, numRuns: RUNS };

/** Every length but `size` (up to twice it) is refused with ENCODING_INVALID, never another error. */
function refusesOtherLengths(decode: (bytes: Uint8Array) => unknown, valid: Uint8Array): void {
  fc.assert(fc.property(fc.integer({ min: 0, max: valid.length * 2 }).filter((length) => length !== valid.length), (length) => {
    const bytes = new Uint8Array(length);
    bytes.set(valid.subarray(0, Math.min(length, valid.length)));
    expect(errorCode(() => decode(bytes))).toBe('ENCODING_INVALID');
  }), options);
}

describe(`binary frames: properties (seed ${SEED}; replay with MQPAY_TEST_SEED=${SEED})`, () => {
  it('a voucher frame round-trips: its views are the signed bytes and the signature, no copy', () => {
    fc.assert(fc.property(voucherBytesArb, bytesArb(64), (bytes, signature) => {
      const frame = encodeVoucherFrame(bytes, signature);
      expect(frame.length).toBe(VOUCHER_FRAME_BYTES);
      const decoded = decodeVoucherFrame(frame);
      expect(bytesEqual(decoded.bytes, bytes) && bytesEqual(decoded.signature, signature)).toBe(true);
      expect(decoded.bytes.buffer).toBe(frame.buffer); // a view into the payload
      refusesOtherLengthsOnce(decodeVoucherFrame, frame);
    }), options);
  });

  it('a receipt frame round-trips', () => {
    fc.assert(fc.property(receiptBytesArb, bytesArb(64), (bytes, signature) => {
      const frame = encodeReceiptFrame(bytes, signature);
      expect(frame.length).toBe(RECEIPT_FRAME_BYTES);
      const decoded = decodeReceiptFrame(frame);
      expect(bytesEqual(decoded.bytes, bytes) && bytesEqual(decoded.signature, signature)).toBe(true);
    }), options);
  });

  it('verdicts round-trip: accepted, and rejected with or without the refused key', () => {
    fc.assert(fc.property(bytesArb(32), seqArb, totalArb, codeArb, keyArb, (channelId, seq, total, code, key) => {
      const accepted = encodeVoucherAccepted(channelId, seq, total);
      expect(accepted.length).toBe(VOUCHER_ACCEPTED_FRAME_BYTES);
      expect(decodeVoucherInboxFrame(accepted)).toEqual({ type: 'voucher.accepted', channelId, seq, total });
      const rejected = encodeVoucherRejected(code, key);
      expect(rejected.length).toBe(REJECTED_FRAME_BYTES);
      expect(decodeVoucherInboxFrame(rejected)).toEqual({ type: 'voucher.rejected', code, key });
      expect(decodeReceiptInboxFrame(encodeReceiptRejected(code, key))).toEqual({ type: 'receipt.rejected', code, key });
      // A voucher verdict is not a receipt frame, and the other way round.
      expect(errorCode(() => decodeReceiptInboxFrame(rejected))).toBe('ENCODING_INVALID');
    }), options);
  });

  it('forwards round-trip, naming the payer or payee', () => {
    fc.assert(fc.property(deviceArb, voucherBytesArb, receiptBytesArb, bytesArb(64), (device, voucher, receipt, signature) => {
      const forward = encodeVoucherForward(device, voucher, signature);
      expect(forward.length).toBe(VOUCHER_FORWARD_FRAME_BYTES);
      expect(decodeVoucherInboxFrame(forward)).toEqual({ type: 'voucher', payer: device, bytes: voucher, signature });
      const receiptForward = encodeReceiptForward(device, receipt, signature);
      expect(receiptForward.length).toBe(RECEIPT_FORWARD_FRAME_BYTES);
      expect(decodeReceiptInboxFrame(receiptForward)).toEqual({ type: 'receipt', payee: device, bytes: receipt, signature });
    }), options);
  });

  it('every frame refuses every other length with ENCODING_INVALID', () => {
    const voucher = encodeVoucher({ channelId: new Uint8Array(32), seq: 1n, total: amountOf(1n), expiresAtSeconds: 1n, memoDigest: null });
    const receipt = encodeReceipt({ channelId: new Uint8Array(32), seq: 1n, total: amountOf(1n) });
    const signature = new Uint8Array(64);
    refusesOtherLengths(decodeVoucherFrame, encodeVoucherFrame(voucher, signature));
    refusesOtherLengths(decodeReceiptFrame, encodeReceiptFrame(receipt, signature));
    refusesOtherLengths(decodeVoucherInboxFrame, encodeVoucherAccepted(new Uint8Array(32), 1n, amountOf(1n)));
    refusesOtherLengths(decodeVoucherInboxFrame, encodeVoucherRejected('CHANNEL_UNKNOWN', null));
    refusesOtherLengths(decodeVoucherInboxFrame, encodeVoucherForward('car-1', voucher, signature));
    refusesOtherLengths(decodeReceiptInboxFrame, encodeReceiptForward('meter-1', receipt, signature));
  });

  it('arbitrary bytes decode or are refused with an MqpayError, never anything else', () => {
    const decoders = [decodeVoucherFrame, decodeReceiptFrame, decodeVoucherInboxFrame, decodeReceiptInboxFrame];
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      for (const decode of decoders) {
        try {
          decode(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(MqpayError);
        }
      }
    }), options);
  });

  it('standalone copies a view into a larger buffer, and keeps a payload that owns its buffer', () => {
    const big = new Uint8Array(1_000);
    const view = big.subarray(10, 156);
    expect(standalone(view).buffer.byteLength).toBe(146);
    const own = new Uint8Array(146);
    expect(standalone(own)).toBe(own);
  });

  it('encoders refuse a wrong signed length, a bad device id and seq 0', () => {
    const signature = new Uint8Array(64);
    expect(errorCode(() => encodeVoucherFrame(new Uint8Array(81), signature))).toBe('ENCODING_INVALID');
    expect(errorCode(() => encodeReceiptFrame(new Uint8Array(57), new Uint8Array(63)))).toBe('ENCODING_INVALID');
    expect(errorCode(() => encodeVoucherForward('Not A Device', new Uint8Array(82), signature))).toBe('DEVICE_ID_INVALID');
    expect(errorCode(() => encodeVoucherAccepted(new Uint8Array(32), 0n, amountOf(1n)))).toBe('ENCODING_INVALID');
  });
});

/** One quick length check inside a property (two lengths, the neighbours). */
function refusesOtherLengthsOnce(decode: (bytes: Uint8Array) => unknown, frame: Uint8Array): void {
  expect(errorCode(() => decode(frame.subarray(0, frame.length - 1)))).toBe('ENCODING_INVALID');
  expect(errorCode(() => decode(Uint8Array.from([...frame, 0])))).toBe('ENCODING_INVALID');
}
