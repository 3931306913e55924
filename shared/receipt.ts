// Receipt: the payee's signed acknowledgement that it holds the voucher (channel, seq, total).
// A payer can show it as proof of delivery. The payer signs one total per seq, so these three
// fields name exactly one voucher. Layout (57 bytes):
//   tag "MQPAY-RC" (8) | version (1) | channel id (32) | seq u64 | total u64
import { amountOf, type Amount } from './amount.js';
import { ByteReader, ByteWriter, domainTag } from './binary.js';
import { CHANNEL_ID_BYTES } from './limits.js';
import { checkSeq } from './voucher.js';

export const RECEIPT_TAG = domainTag('MQPAY-RC');
export const RECEIPT_VERSION = 1;
export const RECEIPT_BYTES = 8 + 1 + CHANNEL_ID_BYTES + 8 + 8;

export interface Receipt {
  readonly channelId: Uint8Array;
  readonly seq: bigint;
  readonly total: Amount;
}

export function encodeReceipt(receipt: Receipt): Uint8Array {
  checkSeq(receipt.seq, 'receipt');
  return new ByteWriter(RECEIPT_BYTES)
    .raw(RECEIPT_TAG, 8)
    .u8(RECEIPT_VERSION)
    .raw(receipt.channelId, CHANNEL_ID_BYTES)
    .u64(receipt.seq)
    .u64(amountOf(receipt.total))
    .finish();
}

export function decodeReceipt(bytes: Uint8Array): Receipt {
  const reader = new ByteReader(bytes, RECEIPT_BYTES, 'receipt');
  reader.header(RECEIPT_TAG, RECEIPT_VERSION, 'receipt');
  const channelId = reader.raw(CHANNEL_ID_BYTES);
  const seq = reader.u64();
  checkSeq(seq, 'receipt');
  const total = amountOf(reader.u64());
  reader.end('receipt');
  return { channelId, seq, total };
}
