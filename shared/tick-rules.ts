// The one rule the service and the payee both apply to a tick (as voucher-rules.ts is for
// vouchers): the tick names the channel's current checkpoint, its index is above the highest
// accepted one (within TICK_SKIP_MAX and the chain), its preimage hashes to the highest accepted
// link (the root at first) in index - highest hashes, and the total it brings the channel to
// stays within the deposit. Pure: the caller persists the returned state before it acknowledges
// [docs/DESIGN.md rule 5].
import type { Amount } from './amount.js';
import { checkpointTotalAt, type Checkpoint } from './checkpoint.js';
import { MqpayError, type ErrorCode } from './errors.js';
import { checkChainLink, hashLinkTimes } from './hash-chain.js';
import { bytesEqual } from './hex.js';
import type { Tick } from './tick.js';
import type { VoucherChannelState } from './voucher-rules.js';

/** What a channel holds of its current chain: the signed checkpoint and the highest link revealed. */
export interface ChainState {
  readonly checkpoint: Checkpoint;
  /** 0 until a tick is accepted; then the highest accepted index. */
  readonly highestIndex: number;
  /** The link at highestIndex: the checkpoint's root at 0. */
  readonly highestLink: Uint8Array;
}

export function chainStateOf(checkpoint: Checkpoint): ChainState {
  return { checkpoint, highestIndex: 0, highestLink: checkpoint.chainRoot };
}

/** The cumulative total the channel's chain pays so far. */
export function chainTotal(state: ChainState): Amount {
  return checkpointTotalAt(state.checkpoint, state.highestIndex);
}

/** Checks `tick` against `state`; returns the state after it, or throws the refusal's code. */
export function acceptTick(state: ChainState, tick: Tick, deposit: Amount): ChainState {
  const { checkpoint } = state;
  if (!bytesEqual(tick.channelId, checkpoint.channelId) || tick.checkpointSeq !== checkpoint.seq) {
    throw new MqpayError('TICK_CHECKPOINT_UNKNOWN', `checkpoint seq ${tick.checkpointSeq}`);
  }
  // The deposit is checked before any hashing: a tick that could not be paid costs nothing to refuse.
  if (tick.index <= checkpoint.chainLength && checkpointTotalAt(checkpoint, tick.index) > deposit) {
    throw new MqpayError('TICK_ABOVE_DEPOSIT', `index ${tick.index}`);
  }
  checkChainLink(state.highestLink, state.highestIndex, tick.index, tick.preimage, checkpoint.chainLength);
  return { checkpoint, highestIndex: tick.index, highestLink: tick.preimage };
}

/**
 * Re-verifies kept evidence (a settlement's checkpoint and highest preimage, or a redeem): the
 * link at `index` hashes to the root in `index` hashes. Not bounded by TICK_SKIP_MAX, since the
 * kept index is at most HASH_CHAIN_LENGTH_MAX and this runs once per settled channel.
 */
export function chainLinkProves(checkpoint: Checkpoint, index: number, link: Uint8Array): boolean {
  if (!Number.isInteger(index) || index < 0 || index > checkpoint.chainLength) return false;
  return link.length === checkpoint.chainRoot.length && bytesEqual(hashLinkTimes(link, index), checkpoint.chainRoot);
}

export type CheckpointVerdict = { readonly kind: 'advance' } | { readonly kind: 'repeat' } | { readonly kind: 'reject'; readonly code: ErrorCode };

/**
 * The service's judgement of a checkpoint (its signature is the caller's to check), as
 * judgeVoucher's for a voucher, in the voucher's seq space, with one difference: its total may
 * equal the latest total (a new chain, or a new price, costs nothing by itself).
 * `sameAsCurrent`: its bytes are the channel's current checkpoint's (a re-send).
 */
export function judgeCheckpoint(channel: VoucherChannelState | null, publisher: string, checkpoint: Checkpoint, nowSeconds: bigint, sameAsCurrent: boolean): CheckpointVerdict {
  if (channel === null) return { kind: 'reject', code: 'CHANNEL_UNKNOWN' };
  if (channel.payer !== publisher) return { kind: 'reject', code: 'CHANNEL_NOT_PAYER' };
  if (checkpoint.seq === channel.latestSeq) return sameAsCurrent ? { kind: 'repeat' } : { kind: 'reject', code: 'VOUCHER_DOUBLE_SIGNED' };
  if (checkpoint.seq < channel.latestSeq) return { kind: 'reject', code: 'VOUCHER_SEQ_NOT_INCREASING' };
  if (channel.state === 'closed') return { kind: 'reject', code: 'CHANNEL_CLOSED' };
  if (channel.state === 'closing') return { kind: 'reject', code: 'CHANNEL_CLOSING' };
  if (channel.expiresAtSeconds <= nowSeconds) return { kind: 'reject', code: 'CHANNEL_EXPIRED' };
  if (checkpoint.expiresAtSeconds <= nowSeconds) return { kind: 'reject', code: 'VOUCHER_EXPIRED' };
  if (checkpoint.total < channel.latestTotal) return { kind: 'reject', code: 'VOUCHER_TOTAL_NOT_INCREASING' };
  if (checkpoint.total > channel.deposit) return { kind: 'reject', code: 'VOUCHER_ABOVE_DEPOSIT' };
  return { kind: 'advance' };
}
