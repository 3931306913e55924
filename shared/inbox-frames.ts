// The binary inbox frames of protocol v3, written only by the service (docs/PROTOCOL.md,
// "Binary frames"). Fixed sizes per kind, big-endian, every field checked:
//   header: tag (8) | version u8 = 1 | kind u8
//   in/voucher-bin, tag "MQPAY-IV":
//     kind 1 accepted  | channel id (32) | seq u64 | total u64                      = 58 bytes
//     kind 2 rejected  | error index u16 | channel id (32) | seq u64               = 52 bytes
//     kind 3 forward   | payer (length u8 + 32 zero-padded ASCII) | voucher (82) | signature (64) = 189 bytes
//   in/receipt-bin, tag "MQPAY-IR":
//     kind 1 forward   | payee (length u8 + 32) | receipt (57) | signature (64)    = 164 bytes
//     kind 2 rejected  | error index u16 | channel id (32) | seq u64               = 52 bytes
// A rejection of something that did not decode carries seq 0 and a zero channel id (a real seq
// is at least 1). Error indexes are shared/error-index.ts's frozen table. Frames carry no error
// detail text: the code is the contract, the detail was only ever for people.
import type { Amount } from './amount.js';
import { amountOf } from './amount.js';
import { ByteReader, ByteWriter, domainTag } from './binary.js';
import { errorCodeAt, errorIndexOf } from './error-index.js';
import { MqpayError, type ErrorCode } from './errors.js';
import { isDeviceId } from './ids.js';
import { CHANNEL_ID_BYTES, DEVICE_ID_LENGTH_MAX, SIGNATURE_BYTES } from './limits.js';
import { RECEIPT_BYTES } from './receipt.js';
import { checkSeq, VOUCHER_BYTES } from './voucher.js';

export const VOUCHER_INBOX_TAG = domainTag('MQPAY-IV');
export const RECEIPT_INBOX_TAG = domainTag('MQPAY-IR');
export const INBOX_FRAME_VERSION = 1;
const HEADER_BYTES = 8 + 1 + 1;
const DEVICE_FIELD_BYTES = 1 + DEVICE_ID_LENGTH_MAX;
const VERDICT_BODY_BYTES = CHANNEL_ID_BYTES + 8;

export const FRAME_KIND = { accepted: 1, rejected: 2, voucherForward: 3, receiptForward: 1 } as const;
export const VOUCHER_ACCEPTED_FRAME_BYTES = HEADER_BYTES + VERDICT_BODY_BYTES + 8;
export const REJECTED_FRAME_BYTES = HEADER_BYTES + 2 + VERDICT_BODY_BYTES;
export const VOUCHER_FORWARD_FRAME_BYTES = HEADER_BYTES + DEVICE_FIELD_BYTES + VOUCHER_BYTES + SIGNATURE_BYTES;
export const RECEIPT_FORWARD_FRAME_BYTES = HEADER_BYTES + DEVICE_FIELD_BYTES + RECEIPT_BYTES + SIGNATURE_BYTES;

/** What a refusal names: the refused object's channel and seq, or nothing when it did not decode. */
export interface RefusedKey {
  readonly channelId: Uint8Array;
  readonly seq: bigint;
}

export type VoucherInboxFrame =
  | { readonly type: 'voucher.accepted'; readonly channelId: Uint8Array; readonly seq: bigint; readonly total: Amount }
  | { readonly type: 'voucher.rejected'; readonly code: ErrorCode; readonly key: RefusedKey | null }
  | { readonly type: 'voucher'; readonly payer: string; readonly bytes: Uint8Array; readonly signature: Uint8Array };

export type ReceiptInboxFrame =
  | { readonly type: 'receipt'; readonly payee: string; readonly bytes: Uint8Array; readonly signature: Uint8Array }
  | { readonly type: 'receipt.rejected'; readonly code: ErrorCode; readonly key: RefusedKey | null };

const ZERO_CHANNEL = new Uint8Array(CHANNEL_ID_BYTES);

function header(tag: Uint8Array, kind: number, size: number): ByteWriter {
  // Inbox frames are sent and dropped: cut from shared slabs (shared/binary.ts).
  return new ByteWriter(size, 'transient').raw(tag, 8).u8(INBOX_FRAME_VERSION).u8(kind);
}

function rejected(tag: Uint8Array, code: ErrorCode, key: RefusedKey | null): Uint8Array {
  const writer = header(tag, FRAME_KIND.rejected, REJECTED_FRAME_BYTES).u16(errorIndexOf(code));
  if (key === null) return writer.raw(ZERO_CHANNEL, CHANNEL_ID_BYTES).u64(0n).finish();
  checkSeq(key.seq);
  return writer.raw(key.channelId, CHANNEL_ID_BYTES).u64(key.seq).finish();
}

function forward(tag: Uint8Array, kind: number, device: string, bytes: Uint8Array, bytesLength: number, signature: Uint8Array, size: number): Uint8Array {
  if (!isDeviceId(device)) throw new MqpayError('DEVICE_ID_INVALID', device);
  return header(tag, kind, size).text(device, DEVICE_ID_LENGTH_MAX).raw(bytes, bytesLength).raw(signature, SIGNATURE_BYTES).finish();
}

export function encodeVoucherAccepted(channelId: Uint8Array, seq: bigint, total: Amount): Uint8Array {
  checkSeq(seq);
  return header(VOUCHER_INBOX_TAG, FRAME_KIND.accepted, VOUCHER_ACCEPTED_FRAME_BYTES).raw(channelId, CHANNEL_ID_BYTES).u64(seq).u64(amountOf(total)).finish();
}

export const encodeVoucherRejected = (code: ErrorCode, key: RefusedKey | null): Uint8Array => rejected(VOUCHER_INBOX_TAG, code, key);
export const encodeReceiptRejected = (code: ErrorCode, key: RefusedKey | null): Uint8Array => rejected(RECEIPT_INBOX_TAG, code, key);

export function encodeVoucherForward(payer: string, bytes: Uint8Array, signature: Uint8Array): Uint8Array {
  return forward(VOUCHER_INBOX_TAG, FRAME_KIND.voucherForward, payer, bytes, VOUCHER_BYTES, signature, VOUCHER_FORWARD_FRAME_BYTES);
}

export function encodeReceiptForward(payee: string, bytes: Uint8Array, signature: Uint8Array): Uint8Array {
  return forward(RECEIPT_INBOX_TAG, FRAME_KIND.receiptForward, payee, bytes, RECEIPT_BYTES, signature, RECEIPT_FORWARD_FRAME_BYTES);
}

/**
 * Checks the header (tag, version, a kind this tag has) and that the length is that kind's;
 * returns the kind and a reader positioned after the header.
 */
function openFrame(payload: Uint8Array, tag: Uint8Array, sizes: ReadonlyMap<number, number>, what: string): { kind: number; reader: ByteReader } {
  if (!(payload instanceof Uint8Array) || payload.length < HEADER_BYTES) throw new MqpayError('ENCODING_INVALID', `${what}: too short`);
  const kind = payload[9] as number;
  const size = sizes.get(kind);
  if (size === undefined) throw new MqpayError('ENCODING_INVALID', `${what}: unknown kind ${kind}`);
  new ByteReader(payload.subarray(0, HEADER_BYTES), HEADER_BYTES, what).header(tag, INBOX_FRAME_VERSION, what);
  if (payload.length !== size) throw new MqpayError('ENCODING_INVALID', `${what}: kind ${kind} is ${size} bytes, got ${payload.length}`);
  const reader = new ByteReader(payload, size, what);
  reader.header(tag, INBOX_FRAME_VERSION, what);
  reader.u8();
  return { kind, reader };
}

/** A forward's body: the device id, the signed bytes and the signature. */
function readForward(reader: ByteReader, signedBytes: number, what: string): { device: string; bytes: Uint8Array; signature: Uint8Array } {
  const device = readDevice(reader, what);
  const bytes = reader.raw(signedBytes);
  const signature = reader.raw(SIGNATURE_BYTES);
  reader.end(what);
  return { device, bytes, signature };
}

function readDevice(reader: ByteReader, what: string): string {
  const device = reader.text(DEVICE_ID_LENGTH_MAX, what);
  if (!isDeviceId(device)) throw new MqpayError('ENCODING_INVALID', `${what}: not a device id`);
  return device;
}

function readRejection(reader: ByteReader, what: string): { code: ErrorCode; key: RefusedKey | null } {
  const code = errorCodeAt(reader.u16());
  const channelId = reader.raw(CHANNEL_ID_BYTES);
  const seq = reader.u64();
  reader.end(what);
  if (seq === 0n) {
    if (channelId.some((byte) => byte !== 0)) throw new MqpayError('ENCODING_INVALID', `${what}: a channel without a seq`);
    return { code, key: null };
  }
  checkSeq(seq);
  return { code, key: { channelId, seq } };
}

const VOUCHER_SIZES = new Map([[FRAME_KIND.accepted, VOUCHER_ACCEPTED_FRAME_BYTES], [FRAME_KIND.rejected, REJECTED_FRAME_BYTES], [FRAME_KIND.voucherForward, VOUCHER_FORWARD_FRAME_BYTES]]);
const RECEIPT_SIZES = new Map([[FRAME_KIND.receiptForward, RECEIPT_FORWARD_FRAME_BYTES], [FRAME_KIND.rejected, REJECTED_FRAME_BYTES]]);

export function decodeVoucherInboxFrame(payload: Uint8Array): VoucherInboxFrame {
  const what = 'voucher inbox frame';
  const { kind, reader } = openFrame(payload, VOUCHER_INBOX_TAG, VOUCHER_SIZES, what);
  if (kind === FRAME_KIND.rejected) return { type: 'voucher.rejected', ...readRejection(reader, what) };
  if (kind === FRAME_KIND.accepted) {
    const channelId = reader.raw(CHANNEL_ID_BYTES);
    const seq = reader.u64();
    checkSeq(seq);
    const total = amountOf(reader.u64());
    reader.end(what);
    return { type: 'voucher.accepted', channelId, seq, total };
  }
  const { device, bytes, signature } = readForward(reader, VOUCHER_BYTES, what);
  return { type: 'voucher', payer: device, bytes, signature };
}

export function decodeReceiptInboxFrame(payload: Uint8Array): ReceiptInboxFrame {
  const what = 'receipt inbox frame';
  const { kind, reader } = openFrame(payload, RECEIPT_INBOX_TAG, RECEIPT_SIZES, what);
  if (kind === FRAME_KIND.rejected) return { type: 'receipt.rejected', ...readRejection(reader, what) };
  const { device, bytes, signature } = readForward(reader, RECEIPT_BYTES, what);
  return { type: 'receipt', payee: device, bytes, signature };
}
