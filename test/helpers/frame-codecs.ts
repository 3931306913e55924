// The binary frames of protocol v3 as codecs (decode, and encode back from the decoded value),
// for the golden vectors (test/wire-frames.test.ts, scripts/protocol-vectors.ts) and the fuzz run
// (test/fuzz/decoder-properties.ts): a decoded frame must re-encode to exactly its bytes.
import {
  decodeReceiptInboxFrame, decodeVoucherInboxFrame, encodeReceiptForward, encodeReceiptRejected, encodeVoucherAccepted, encodeVoucherForward,
  encodeVoucherRejected, type ReceiptInboxFrame, type VoucherInboxFrame,
} from '../../shared/inbox-frames.js';
import { decodeReceiptFrame, decodeVoucherFrame, encodeReceiptFrame, encodeVoucherFrame, type SignedReceiptFrame, type SignedVoucherFrame } from '../../shared/signed-frames.js';

export function encodeVoucherInboxFrame(frame: VoucherInboxFrame): Uint8Array {
  switch (frame.type) {
    case 'voucher.accepted': return encodeVoucherAccepted(frame.channelId, frame.seq, frame.total);
    case 'voucher.rejected': return encodeVoucherRejected(frame.code, frame.key);
    case 'voucher': return encodeVoucherForward(frame.payer, frame.bytes, frame.signature);
  }
}

export function encodeReceiptInboxFrame(frame: ReceiptInboxFrame): Uint8Array {
  return frame.type === 'receipt' ? encodeReceiptForward(frame.payee, frame.bytes, frame.signature) : encodeReceiptRejected(frame.code, frame.key);
}

export interface FrameCodec {
  /** The box the frame travels on (out/… or in/…). */
  readonly kind: 'out/voucher-bin' | 'out/receipt-bin' | 'in/voucher-bin' | 'in/receipt-bin';
  readonly decode: (bytes: Uint8Array) => unknown;
  readonly encode: (value: never) => Uint8Array;
}

export const FRAME_CODECS: readonly FrameCodec[] = [
  { kind: 'out/voucher-bin', decode: decodeVoucherFrame, encode: (frame: SignedVoucherFrame) => encodeVoucherFrame(frame.bytes, frame.signature) },
  { kind: 'out/receipt-bin', decode: decodeReceiptFrame, encode: (frame: SignedReceiptFrame) => encodeReceiptFrame(frame.bytes, frame.signature) },
  { kind: 'in/voucher-bin', decode: decodeVoucherInboxFrame, encode: encodeVoucherInboxFrame },
  { kind: 'in/receipt-bin', decode: decodeReceiptInboxFrame, encode: encodeReceiptInboxFrame },
];

export const frameCodec = (kind: string): FrameCodec => {
  const codec = FRAME_CODECS.find((entry) => entry.kind === kind);
  if (codec === undefined) throw new Error(`no frame codec ${kind}`);
  return codec;
};
