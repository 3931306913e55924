// Tick verdict (protocol v3): the service's answer to the payer for each checkpoint or tick it
// published on `out/tick`, on `in/tick`, binary like what it answers. Index 0 answers the
// checkpoint itself. Accepted: the channel's total after it (what the payer has now paid in all).
// Refused: the error code as its u16 index in the frozen table (shared/error-index.ts), like the
// inbox frames' rejections (shared/inbox-frames.ts); the decoded verdict carries total 0.
// Fixed size per kind, big-endian, every field checked:
//   header: tag "MQPAY-TV" (8) | version u8 = 1 | kind u8
//     kind 1 accepted | channel id (32) | checkpoint seq u64 | index u32 | total u64   = 62 bytes
//     kind 2 refused  | error index u16 | channel id (32) | checkpoint seq u64 | index u32 = 56 bytes
import { amountOf, type Amount } from './amount.js';
import { ByteReader, ByteWriter, domainTag } from './binary.js';
import { errorCodeAt, errorIndexOf } from './error-index.js';
import { assert, MqpayError, type ErrorCode } from './errors.js';
import { CHANNEL_ID_BYTES } from './limits.js';

export const TICK_VERDICT_TAG = domainTag('MQPAY-TV');
export const TICK_VERDICT_VERSION = 1;
export const TICK_VERDICT_KIND = { accepted: 1, refused: 2 } as const;
const HEADER_BYTES = 8 + 1 + 1;
const NAMED_BYTES = CHANNEL_ID_BYTES + 8 + 4;
export const TICK_VERDICT_ACCEPTED_BYTES = HEADER_BYTES + NAMED_BYTES + 8;
export const TICK_VERDICT_REFUSED_BYTES = HEADER_BYTES + 2 + NAMED_BYTES;
const SIZES = new Map<number, number>([[TICK_VERDICT_KIND.accepted, TICK_VERDICT_ACCEPTED_BYTES], [TICK_VERDICT_KIND.refused, TICK_VERDICT_REFUSED_BYTES]]);
const WHAT = 'tick verdict';

export interface TickVerdict {
  readonly channelId: Uint8Array;
  /** The seq of the checkpoint the frame named (0 when it did not decode that far). */
  readonly checkpointSeq: bigint;
  /** 0 for the checkpoint, else the tick's index. */
  readonly index: number;
  /** The channel's total after an accepted frame; 0 for a refusal (the frame does not carry it). */
  readonly total: Amount;
  readonly code: ErrorCode | null;
}

export function encodeTickVerdict(verdict: TickVerdict): Uint8Array {
  const { code } = verdict;
  const kind = code === null ? TICK_VERDICT_KIND.accepted : TICK_VERDICT_KIND.refused;
  const writer = new ByteWriter(SIZES.get(kind) as number).raw(TICK_VERDICT_TAG, 8).u8(TICK_VERDICT_VERSION).u8(kind);
  if (code !== null) {
    // A refusal's total is not on the wire; a caller passing one would lose it silently.
    assert(amountOf(verdict.total) === 0n, 'a refused tick verdict has total 0');
    writer.u16(errorIndexOf(code));
  }
  writer.raw(verdict.channelId, CHANNEL_ID_BYTES).u64(verdict.checkpointSeq).u32(verdict.index);
  if (code === null) writer.u64(amountOf(verdict.total));
  return writer.finish();
}

/** The kind from byte 9, after checking its length is that kind's: a strict decoder refuses any other size. */
function openVerdict(bytes: Uint8Array): { kind: number; reader: ByteReader } {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEADER_BYTES) throw new MqpayError('ENCODING_INVALID', `${WHAT}: too short`);
  const kind = bytes[9] as number;
  const size = SIZES.get(kind);
  if (size === undefined) throw new MqpayError('ENCODING_INVALID', `${WHAT}: unknown kind ${kind}`);
  const reader = new ByteReader(bytes, size, WHAT);
  reader.header(TICK_VERDICT_TAG, TICK_VERDICT_VERSION, WHAT);
  reader.u8();
  return { kind, reader };
}

export function decodeTickVerdict(bytes: Uint8Array): TickVerdict {
  const { kind, reader } = openVerdict(bytes);
  const code = kind === TICK_VERDICT_KIND.refused ? errorCodeAt(reader.u16()) : null;
  const channelId = reader.raw(CHANNEL_ID_BYTES);
  const checkpointSeq = reader.u64();
  const index = reader.u32();
  const total = amountOf(code === null ? reader.u64() : 0n);
  reader.end(WHAT);
  return { channelId, checkpointSeq, index, total, code };
}
