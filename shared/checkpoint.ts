// Checkpoint (protocol v3): "on channel C, at sequence n, I owe you a total of X, plus P for each
// link of the hash chain with root R (length N) that I reveal". Signed by the payer, like a
// voucher, and sharing the voucher's seq space: a checkpoint at seq n supersedes every voucher and
// checkpoint below n, and the payer never signs two different objects for one seq. Its own domain
// tag rather than a longer voucher: the voucher layout (and every signature over it) stays as it
// is, and a voucher's bytes can never verify as a checkpoint or the reverse [docs/DESIGN.md rule 2].
// Layout (109 bytes, big-endian):
//   tag "MQPAY-HC" (8) | version (1) | channel id (32) | seq u64 | total u64 (micro-units)
//   | expires at u64 (unix seconds) | chain root (32) | chain length u32 | price per tick u64
// The decoder refuses a length outside [1, HASH_CHAIN_LENGTH_MAX], a price of zero, and a chain
// whose last tick would pay past u64 (total + length x price), so every tick's total is an amount.
import { amountOf, type Amount } from './amount.js';
import { ByteReader, ByteWriter, domainTag } from './binary.js';
import { MqpayError } from './errors.js';
import { checkChainLength } from './hash-chain.js';
import { AMOUNT_MICRO_MAX, CHANNEL_ID_BYTES, HASH_CHAIN_LINK_BYTES } from './limits.js';
import { checkSeq } from './voucher.js';

export const CHECKPOINT_TAG = domainTag('MQPAY-HC');
export const CHECKPOINT_VERSION = 1;
export const CHECKPOINT_BYTES = 8 + 1 + CHANNEL_ID_BYTES + 8 + 8 + 8 + HASH_CHAIN_LINK_BYTES + 4 + 8;

export interface Checkpoint {
  readonly channelId: Uint8Array;
  readonly seq: bigint;
  /** What the checkpoint alone pays: the cumulative total before any tick of its chain. */
  readonly total: Amount;
  readonly expiresAtSeconds: bigint;
  readonly chainRoot: Uint8Array;
  readonly chainLength: number;
  readonly pricePerTick: Amount;
}

function checkChainTerms(checkpoint: Checkpoint): void {
  checkSeq(checkpoint.seq, 'checkpoint');
  checkChainLength(checkpoint.chainLength);
  if (checkpoint.pricePerTick < 1n) throw new MqpayError('ENCODING_INVALID', 'checkpoint: price per tick must be at least one micro-unit');
  if (checkpoint.total + BigInt(checkpoint.chainLength) * checkpoint.pricePerTick > AMOUNT_MICRO_MAX) {
    throw new MqpayError('ENCODING_INVALID', 'checkpoint: total + length x price exceeds u64');
  }
}

export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  checkChainTerms(checkpoint);
  return new ByteWriter(CHECKPOINT_BYTES)
    .raw(CHECKPOINT_TAG, 8)
    .u8(CHECKPOINT_VERSION)
    .raw(checkpoint.channelId, CHANNEL_ID_BYTES)
    .u64(checkpoint.seq)
    .u64(amountOf(checkpoint.total))
    .u64(checkpoint.expiresAtSeconds)
    .raw(checkpoint.chainRoot, HASH_CHAIN_LINK_BYTES)
    .u32(checkpoint.chainLength)
    .u64(amountOf(checkpoint.pricePerTick))
    .finish();
}

export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  const reader = new ByteReader(bytes, CHECKPOINT_BYTES, 'checkpoint');
  reader.header(CHECKPOINT_TAG, CHECKPOINT_VERSION, 'checkpoint');
  const checkpoint: Checkpoint = {
    channelId: reader.raw(CHANNEL_ID_BYTES),
    seq: reader.u64(),
    total: amountOf(reader.u64()),
    expiresAtSeconds: reader.u64(),
    chainRoot: reader.raw(HASH_CHAIN_LINK_BYTES),
    chainLength: reader.u32(),
    pricePerTick: amountOf(reader.u64()),
  };
  reader.end('checkpoint');
  checkChainTerms(checkpoint);
  return checkpoint;
}

/** The cumulative total a checkpoint pays once tick `index` (0 for none) is revealed. */
export function checkpointTotalAt(checkpoint: Checkpoint, index: number): Amount {
  return amountOf(checkpoint.total + BigInt(index) * checkpoint.pricePerTick);
}
