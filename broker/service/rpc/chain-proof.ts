// The proof a redeemed chain link carries (channel.redeemChain, v3.1): link `index` hashes, in
// `index` hashes, to the checkpoint's root, or to the link the service already holds of the same
// chain in the difference of their indices. Up to HASH_CHAIN_LENGTH_MAX hashes (a second of CPU
// at worst), so it runs before the request's unit of work, TICK_SKIP_MAX hashes per event-loop
// turn, one proof at a time (rpc/handler.ts): redemptions never stall the ticks and vouchers of
// other devices [docs/DESIGN.md rule 9].
import { bytesEqual, fromHex } from '../../../shared/hex.js';
import { decodeCheckpoint, CHECKPOINT_BYTES } from '../../../shared/checkpoint.js';
import { MqpayError } from '../../../shared/errors.js';
import { hashLinkTimes } from '../../../shared/hash-chain.js';
import { HASH_CHAIN_LINK_BYTES, TICK_SKIP_MAX } from '../../../shared/limits.js';
import type { RpcParams } from '../../../shared/schemas.js';
import type { StoreReads } from '../../store/port.js';

interface Link {
  readonly index: number;
  readonly link: Uint8Array;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** `link` hashed `count` times, TICK_SKIP_MAX hashes per event-loop turn. */
async function hashedDown(link: Uint8Array, count: number): Promise<Uint8Array> {
  let value = link;
  for (let left = count; left > 0; left -= TICK_SKIP_MAX) {
    value = hashLinkTimes(value, Math.min(left, TICK_SKIP_MAX));
    if (left > TICK_SKIP_MAX) await nextTurn();
  }
  return value;
}

/** Whether `a` and `b` are links of one chain: the higher one hashes to the lower one. */
async function sameChain(a: Link, b: Link): Promise<boolean> {
  const [high, low] = a.index >= b.index ? [a, b] : [b, a];
  return bytesEqual(await hashedDown(high.link, high.index - low.index), low.link);
}

/** Throws TICK_INDEX_INVALID or TICK_PREIMAGE_INVALID unless the request's link is link `index` of its checkpoint's chain. */
export async function proveRedeemedLink(reads: StoreReads, params: RpcParams<'channel.redeemChain'>): Promise<void> {
  const bytes = fromHex(params.checkpoint, CHECKPOINT_BYTES);
  const checkpoint = decodeCheckpoint(bytes);
  if (params.index > checkpoint.chainLength) throw new MqpayError('TICK_INDEX_INVALID', `index ${params.index} is past the chain's ${checkpoint.chainLength} links`);
  const claimed = { index: params.index, link: fromHex(params.link, HASH_CHAIN_LINK_BYTES) };
  // A link of the same chain the service holds (it proved it) is a shorter way to the root.
  const held = await reads.chainOf(checkpoint.channelId);
  const anchor = held !== null && bytesEqual(held.checkpoint, bytes) ? { index: held.highestIndex, link: held.highestLink } : { index: 0, link: checkpoint.chainRoot };
  if (!(await sameChain(claimed, anchor))) throw new MqpayError('TICK_PREIMAGE_INVALID', `link ${params.index} does not hash to the chain's link ${anchor.index}`);
}
