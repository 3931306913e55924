// Tick (protocol v3): the frame that reveals link `index` of the chain a checkpoint committed to.
// Not signed: the preimage is its own proof (shared/hash-chain.ts). It names the checkpoint's seq
// so a tick still in flight when the payer signs a new checkpoint is refused as stale instead of
// being hashed against the wrong root. Layout (85 bytes, big-endian):
//   tag "MQPAY-TK" (8) | version (1) | channel id (32) | checkpoint seq u64 | index u32 | preimage (32)
// It travels as the whole MQTT payload of `out/tick` (payer -> service) and `in/tick`
// (service -> payee), byte for byte.
import { ByteReader, ByteWriter, domainTag } from './binary.js';
import { MqpayError } from './errors.js';
import { CHANNEL_ID_BYTES, HASH_CHAIN_LENGTH_MAX, HASH_CHAIN_LINK_BYTES } from './limits.js';
import { checkSeq } from './voucher.js';

export const TICK_TAG = domainTag('MQPAY-TK');
export const TICK_VERSION = 1;
export const TICK_BYTES = 8 + 1 + CHANNEL_ID_BYTES + 8 + 4 + HASH_CHAIN_LINK_BYTES;

export interface Tick {
  readonly channelId: Uint8Array;
  readonly checkpointSeq: bigint;
  /** In [1, HASH_CHAIN_LENGTH_MAX]: tick 0 is the root, which the checkpoint itself carries. */
  readonly index: number;
  readonly preimage: Uint8Array;
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 1 || index > HASH_CHAIN_LENGTH_MAX) {
    throw new MqpayError('ENCODING_INVALID', `tick index must be in [1, ${HASH_CHAIN_LENGTH_MAX}]`);
  }
}

export function encodeTick(tick: Tick): Uint8Array {
  checkSeq(tick.checkpointSeq, 'tick checkpoint');
  checkIndex(tick.index);
  return new ByteWriter(TICK_BYTES)
    .raw(TICK_TAG, 8)
    .u8(TICK_VERSION)
    .raw(tick.channelId, CHANNEL_ID_BYTES)
    .u64(tick.checkpointSeq)
    .u32(tick.index)
    .raw(tick.preimage, HASH_CHAIN_LINK_BYTES)
    .finish();
}

export function decodeTick(bytes: Uint8Array): Tick {
  const reader = new ByteReader(bytes, TICK_BYTES, 'tick');
  reader.header(TICK_TAG, TICK_VERSION, 'tick');
  const channelId = reader.raw(CHANNEL_ID_BYTES);
  const checkpointSeq = reader.u64();
  checkSeq(checkpointSeq, 'tick checkpoint');
  const index = reader.u32();
  checkIndex(index);
  const preimage = reader.raw(HASH_CHAIN_LINK_BYTES);
  reader.end('tick');
  return { channelId, checkpointSeq, index, preimage };
}
