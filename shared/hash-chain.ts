// PayWord hash chains (Rivest and Shamir, 1996). The payer draws a random seed h_N and hashes it
// down: h_{i-1} = SHA-256(h_i), root h_0. A checkpoint signs the root; tick i reveals h_i, which
// anyone holding h_j (j < i) checks with i - j hashes, one for the next tick. Nobody but the seed's
// holder can compute h_i from h_j (the hash is one-way), so a revealed h_i proves the payer paid
// for i ticks, and h_i gives away every lower link but no higher one.
import { hash } from 'node:crypto';
import { MqpayError, assert } from './errors.js';
import { HASH_CHAIN_LENGTH_MAX, HASH_CHAIN_LINK_BYTES, TICK_SKIP_MAX } from './limits.js';
import { bytesEqual } from './hex.js';

/** One link down the chain: h_{i-1} = SHA-256(h_i). */
export function hashLink(link: Uint8Array): Uint8Array {
  // The one-shot form: no Hash object per link (a tick's check is this one call).
  return hash('sha256', link, 'buffer');
}

/** `link` hashed `count` times. */
export function hashLinkTimes(link: Uint8Array, count: number): Uint8Array {
  let value = link;
  for (let i = 0; i < count; i++) value = hashLink(value);
  return value;
}

export function checkChainLength(length: number): void {
  if (!Number.isInteger(length) || length < 1 || length > HASH_CHAIN_LENGTH_MAX) {
    throw new MqpayError('ENCODING_INVALID', `hash chain length must be in [1, ${HASH_CHAIN_LENGTH_MAX}]`);
  }
}

/**
 * Whether `preimage` is link `index` of the chain whose link `lastIndex` is `last` (the root for
 * lastIndex 0). Costs index - lastIndex hashes, refused beyond TICK_SKIP_MAX before any hashing,
 * so a tick frame can never make its checker hash more than that [docs/DESIGN.md rule 9].
 */
export function checkChainLink(last: Uint8Array, lastIndex: number, index: number, preimage: Uint8Array, length: number): void {
  assert(last.length === HASH_CHAIN_LINK_BYTES, 'last link of 32 bytes');
  if (!Number.isInteger(index) || index <= lastIndex) throw new MqpayError('TICK_INDEX_INVALID', `index ${index} is not above ${lastIndex}`);
  if (index > length) throw new MqpayError('TICK_INDEX_INVALID', `index ${index} is past the chain's length ${length}`);
  if (index - lastIndex > TICK_SKIP_MAX) throw new MqpayError('TICK_SKIP_TOO_LARGE', `skips ${index - lastIndex - 1} indices (at most ${TICK_SKIP_MAX - 1})`);
  if (preimage.length !== HASH_CHAIN_LINK_BYTES || !bytesEqual(hashLinkTimes(preimage, index - lastIndex), last)) {
    throw new MqpayError('TICK_PREIMAGE_INVALID', `index ${index}`);
  }
}

/** Links kept per anchor: the payer stores one link in this many and rebuilds a segment when it reaches it. */
export const HASH_CHAIN_ANCHOR_INTERVAL = 256;

/**
 * The payer's side of one chain, rebuilt from its seed (which the payer stores durably before it
 * signs the checkpoint, so a restart rebuilds the same chain). Memory is one link per
 * HASH_CHAIN_ANCHOR_INTERVAL plus one segment; revealing links in increasing order costs one hash
 * per link amortised, after the N hashes of building.
 */
export class HashChain {
  readonly root: Uint8Array;
  private readonly anchors: Uint8Array[] = [];
  private segmentTop = -1;
  private segment: Uint8Array[] = [];

  constructor(private readonly seed: Uint8Array, readonly length: number) {
    checkChainLength(length);
    assert(seed.length === HASH_CHAIN_LINK_BYTES, 'seed of 32 bytes');
    // anchors[k] = h_{k * interval}; the seed h_N is kept separately as the top.
    let link = seed;
    const links: Array<[number, Uint8Array]> = [];
    for (let i = length; i > 0; i--) {
      if (i % HASH_CHAIN_ANCHOR_INTERVAL === 0) links.push([i / HASH_CHAIN_ANCHOR_INTERVAL, link]);
      link = hashLink(link);
    }
    this.root = link;
    for (const [k, value] of links) this.anchors[k] = value;
  }

  /** Link `index` in [0, length]: h_0 is the root, h_length the seed. */
  link(index: number): Uint8Array {
    assert(Number.isInteger(index) && index >= 0 && index <= this.length, 'link index within the chain');
    if (index === 0) return this.root;
    const top = Math.min(this.length, Math.ceil(index / HASH_CHAIN_ANCHOR_INTERVAL) * HASH_CHAIN_ANCHOR_INTERVAL);
    if (top !== this.segmentTop) this.buildSegment(top);
    return this.segment[top - index] as Uint8Array;
  }

  /** segment[d] = h_{top - d}, for the links this anchor covers. */
  private buildSegment(top: number): void {
    let link = top === this.length ? this.seed : (this.anchors[top / HASH_CHAIN_ANCHOR_INTERVAL] as Uint8Array);
    const bottom = Math.max(0, top - HASH_CHAIN_ANCHOR_INTERVAL);
    const segment: Uint8Array[] = [];
    for (let i = top; i > bottom; i--) {
      segment.push(link);
      link = hashLink(link);
    }
    this.segment = segment;
    this.segmentTop = top;
  }
}
