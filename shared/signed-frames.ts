// The binary outbox frames of protocol v3: a voucher or a receipt as its signed bytes followed by
// the signature, nothing else (docs/PROTOCOL.md, "Binary frames"). The signed bytes open with
// their own domain tag and layout version, so the frame needs no header of its own.
//   out/voucher-bin: voucher (82) | ed25519 signature (64)   = 146 bytes
//   out/receipt-bin: receipt (57) | ed25519 signature (64)   = 121 bytes
// Decoding makes no copy of the payload: `bytes` and `signature` are views into it (the decoded
// voucher's channel id is the decoder's own copy). A holder that keeps them beyond the message, or
// hands them to a worker, first makes the payload `standalone`: a view into the socket's receive
// chunk would pin that chunk in a cache, and a structured clone copies a view's whole buffer.
import { MqpayError } from './errors.js';
import { SIGNATURE_BYTES } from './limits.js';
import { decodeReceipt, RECEIPT_BYTES, type Receipt } from './receipt.js';
import { decodeVoucher, VOUCHER_BYTES, type Voucher } from './voucher.js';

export const VOUCHER_FRAME_BYTES = VOUCHER_BYTES + SIGNATURE_BYTES;
export const RECEIPT_FRAME_BYTES = RECEIPT_BYTES + SIGNATURE_BYTES;

export interface SignedVoucherFrame {
  readonly voucher: Voucher;
  readonly bytes: Uint8Array;
  readonly signature: Uint8Array;
}

export interface SignedReceiptFrame {
  readonly receipt: Receipt;
  readonly bytes: Uint8Array;
  readonly signature: Uint8Array;
}

function checkLength(payload: Uint8Array, expected: number, what: string): void {
  if (!(payload instanceof Uint8Array)) throw new MqpayError('ENCODING_INVALID', `${what}: not bytes`);
  if (payload.length !== expected) throw new MqpayError('ENCODING_INVALID', `${what}: expected ${expected} bytes, got ${payload.length}`);
}

/** Signed bytes and signature side by side in one buffer. */
export function signedFrameOf(bytes: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length !== SIGNATURE_BYTES) throw new MqpayError('ENCODING_INVALID', `signature must be ${SIGNATURE_BYTES} bytes`);
  const frame = new Uint8Array(bytes.length + SIGNATURE_BYTES);
  frame.set(bytes, 0);
  frame.set(signature, bytes.length);
  return frame;
}

export function encodeVoucherFrame(bytes: Uint8Array, signature: Uint8Array): Uint8Array {
  if (bytes.length !== VOUCHER_BYTES) throw new MqpayError('ENCODING_INVALID', `voucher must be ${VOUCHER_BYTES} bytes`);
  return signedFrameOf(bytes, signature);
}

export function encodeReceiptFrame(bytes: Uint8Array, signature: Uint8Array): Uint8Array {
  if (bytes.length !== RECEIPT_BYTES) throw new MqpayError('ENCODING_INVALID', `receipt must be ${RECEIPT_BYTES} bytes`);
  return signedFrameOf(bytes, signature);
}

export function decodeVoucherFrame(payload: Uint8Array): SignedVoucherFrame {
  checkLength(payload, VOUCHER_FRAME_BYTES, 'voucher frame');
  const bytes = payload.subarray(0, VOUCHER_BYTES);
  return { voucher: decodeVoucher(bytes), bytes, signature: payload.subarray(VOUCHER_BYTES) };
}

export function decodeReceiptFrame(payload: Uint8Array): SignedReceiptFrame {
  checkLength(payload, RECEIPT_FRAME_BYTES, 'receipt frame');
  const bytes = payload.subarray(0, RECEIPT_BYTES);
  return { receipt: decodeReceipt(bytes), bytes, signature: payload.subarray(RECEIPT_BYTES) };
}

/**
 * The payload itself when it owns its buffer, else one copy of just its bytes (an MQTT payload is
 * usually a view into the socket's receive chunk, kilobytes long).
 */
export function standalone(payload: Uint8Array): Uint8Array {
  return payload.byteOffset === 0 && payload.byteLength === payload.buffer.byteLength ? payload : new Uint8Array(payload);
}
