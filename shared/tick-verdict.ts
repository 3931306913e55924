// Tick verdict (protocol v3): the service's answer to the payer for each checkpoint or tick it
// published on `out/tick`, on `in/tick`, binary like what it answers. Index 0 answers the
// checkpoint itself. Accepted: an empty code and the channel's total after it (what the payer
// has now paid in all). Refused: the error code (shared/errors.ts) and total 0.
// Layout (94 bytes, big-endian):
//   tag "MQPAY-TV" (8) | version (1) | channel id (32) | checkpoint seq u64 | index u32
//   | total u64 (micro-units) | code: length u8 + 32 bytes of ASCII, zero-padded
import { amountOf, type Amount } from './amount.js';
import { ByteReader, ByteWriter, domainTag } from './binary.js';
import { isErrorCode, MqpayError, type ErrorCode } from './errors.js';
import { CHANNEL_ID_BYTES } from './limits.js';

export const TICK_VERDICT_TAG = domainTag('MQPAY-TV');
export const TICK_VERDICT_VERSION = 1;
const CODE_WIDTH = 32;
export const TICK_VERDICT_BYTES = 8 + 1 + CHANNEL_ID_BYTES + 8 + 4 + 8 + 1 + CODE_WIDTH;

export interface TickVerdict {
  readonly channelId: Uint8Array;
  /** The seq of the checkpoint the frame named (0 when it did not decode that far). */
  readonly checkpointSeq: bigint;
  /** 0 for the checkpoint, else the tick's index. */
  readonly index: number;
  readonly total: Amount;
  readonly code: ErrorCode | null;
}

export function encodeTickVerdict(verdict: TickVerdict): Uint8Array {
  return new ByteWriter(TICK_VERDICT_BYTES)
    .raw(TICK_VERDICT_TAG, 8)
    .u8(TICK_VERDICT_VERSION)
    .raw(verdict.channelId, CHANNEL_ID_BYTES)
    .u64(verdict.checkpointSeq)
    .u32(verdict.index)
    .u64(amountOf(verdict.total))
    .text(verdict.code ?? '', CODE_WIDTH)
    .finish();
}

export function decodeTickVerdict(bytes: Uint8Array): TickVerdict {
  const reader = new ByteReader(bytes, TICK_VERDICT_BYTES, 'tick verdict');
  reader.header(TICK_VERDICT_TAG, TICK_VERDICT_VERSION, 'tick verdict');
  const channelId = reader.raw(CHANNEL_ID_BYTES);
  const checkpointSeq = reader.u64();
  const index = reader.u32();
  const total = amountOf(reader.u64());
  const text = reader.text(CODE_WIDTH, 'tick verdict code');
  reader.end('tick verdict');
  if (text !== '' && !isErrorCode(text)) throw new MqpayError('ENCODING_INVALID', 'tick verdict: unknown error code');
  if (text !== '' && total !== 0n) throw new MqpayError('ENCODING_INVALID', 'tick verdict: a refusal carries total 0');
  return { channelId, checkpointSeq, index, total, code: text === '' ? null : text };
}
