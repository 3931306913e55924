// Signs the next voucher of a channel, inside a batched write: the policy is checked again
// against what is already stored, seq and total are taken from the stored channel, and the
// voucher row and the channel's signed (seq, total) are written in the same transaction as
// the signature is made. Nothing leaves the device before that transaction commits.
//
// Only the seq needs an fsync before publishing, not the voucher [docs/DESIGN.md rule 5]: a
// durable write reserves a block of SEQ_RESERVATION_BLOCK_SEQS seqs, and the vouchers inside it
// are committed without one. A restart skips the block's rest, so a voucher lost with an unsynced
// commit never has its seq signed again with another total.
import { addAmount, subAmount, type Amount } from '../../shared/amount.js';
import { sign } from '../../shared/crypto.js';
import { MqpayError } from '../../shared/errors.js';
import { MEMO_SALT_BYTES, VOUCHER_SEQ_MAX } from '../../shared/limits.js';
import { encodeVoucher, memoDigestOf } from '../../shared/voucher.js';
import { toHex } from '../../shared/hex.js';
import type { AgentContext } from '../context.js';
import { checkPolicy } from '../policy.js';
import { secondsOf } from '../../shared/time.js';
import { getPayerChannel, recordSigned, reserveSeqs, setPayerChannelState, type PayerChannel } from '../store/payer-channels.js';
import { SEQ_RESERVATION_BLOCK_SEQS } from '../limits.js';
import { insertSignedVoucher, type SignedVoucherRow } from '../store/signed-vouchers.js';
import { recordSpending, spentSince } from '../store/spending.js';

/** The channel cannot take this payment any more (spent, expired, closed): find another. */
export class ChannelUnusable extends Error {}

/** The next seq is past the channel's reservation: sign again in a durable write. */
export class SeqsNotReserved extends Error {}

/** Whether signing on `channel` next must reserve seqs, so its write must be durable. */
export const needsReservation = (channel: Pick<PayerChannel, 'signedSeq' | 'reservedSeq'>): boolean => channel.signedSeq >= channel.reservedSeq;

export interface VoucherRequest {
  readonly channelId: Uint8Array;
  readonly payee: string;
  readonly amount: Amount;
  readonly memo: string | null;
  /** Salt of the memo digest; null draws a fresh random one (when there is a memo). */
  readonly memoSalt: Uint8Array | null;
  /**
   * A payment against a signed offer: the offer's digest (shared/offer.ts) is the voucher's memo
   * digest as it is, unsalted, since the offer is public; the stored memo reads `offer:{hex}`.
   */
  readonly offerDigest?: Uint8Array | null;
}

function memoOf(ctx: AgentContext, request: VoucherRequest): { memo: string | null; memoSalt: Uint8Array | null; memoDigest: Uint8Array | null } {
  if (request.offerDigest != null) return { memo: `offer:${toHex(request.offerDigest)}`, memoSalt: null, memoDigest: request.offerDigest };
  if (request.memo === null) return { memo: null, memoSalt: null, memoDigest: null };
  const memoSalt = request.memoSalt ?? ctx.random(MEMO_SALT_BYTES);
  return { memo: request.memo, memoSalt, memoDigest: memoDigestOf(request.memo, memoSalt) };
}

export function expiryOf(ctx: AgentContext, nowMs: number, channelExpiresAtSeconds: bigint): bigint {
  const wanted = secondsOf(nowMs) + BigInt(ctx.config.voucherLifetimeSeconds);
  return wanted < channelExpiresAtSeconds ? wanted : channelExpiresAtSeconds;
}

/**
 * The channel to sign on next, if it can take a signature now (open, synced with the service
 * after a restart, not expired, no key rotation undecided); throws ChannelUnusable or why not.
 */
export function signableChannel(ctx: AgentContext, channelId: Uint8Array, nowMs: number): PayerChannel {
  // While a key rotation is undecided, the old key's vouchers may already be refused [docs/DESIGN.md rule 12].
  if (ctx.keys.pending !== null) throw new MqpayError('SERVICE_UNAVAILABLE', 'a key rotation is in progress; pay again once it is done');
  const channel = getPayerChannel(ctx.db, channelId);
  if (channel === null || channel.state !== 'open') throw new ChannelUnusable('channel is not open');
  // After a restart, the total lost with an unsynced commit is learnt from the service first.
  if (!channel.synced) throw new MqpayError('SERVICE_UNAVAILABLE', 'the channel is not yet synced with the service after a restart');
  if (channel.expiresAtSeconds <= secondsOf(nowMs)) throw new ChannelUnusable('channel has expired');
  return channel;
}

/**
 * The channel's next seq. Past the reserved block, a durable write reserves the next one
 * (SeqsNotReserved when this write is not durable): a seq is published only once reserved on disk.
 */
export function takeNextSeq(ctx: AgentContext, channel: PayerChannel, durable: boolean): bigint {
  const seq = channel.signedSeq + 1n;
  if (seq > VOUCHER_SEQ_MAX) {
    setPayerChannelState(ctx.db, channel.id, 'failed', 'seq exhausted');
    throw new ChannelUnusable('seq exhausted');
  }
  if (seq > channel.reservedSeq) {
    if (!durable) throw new SeqsNotReserved();
    const end = channel.reservedSeq + BigInt(SEQ_RESERVATION_BLOCK_SEQS);
    reserveSeqs(ctx.db, channel.id, end < VOUCHER_SEQ_MAX ? end : VOUCHER_SEQ_MAX);
  }
  return seq;
}

/** Runs inside a WriteBatch write (`durable`: whether it commits with an fsync). Throws
 *  ChannelUnusable, SeqsNotReserved, a POLICY_* error, or returns the stored row. */
export function signNextVoucher(ctx: AgentContext, request: VoucherRequest, durable: boolean): SignedVoucherRow {
  const { db, keys, config, clock } = ctx;
  const nowMs = clock.nowMs();
  const channel = signableChannel(ctx, request.channelId, nowMs);
  checkPolicy(config.policy, request.payee, request.amount, (sinceMs, payee) => spentSince(db, sinceMs, payee), nowMs);
  if (subAmount(channel.deposit, channel.signedTotal) < request.amount) throw new ChannelUnusable('not enough unspent deposit');
  const seq = takeNextSeq(ctx, channel, durable);
  const total = addAmount(channel.signedTotal, request.amount);
  const { memo, memoSalt, memoDigest } = memoOf(ctx, request);
  const voucher = encodeVoucher({ channelId: channel.id, seq, total, expiresAtSeconds: expiryOf(ctx, nowMs, channel.expiresAtSeconds), memoDigest });
  const row = { channel: channel.id, seq, total, amount: request.amount, payee: request.payee, voucher, signature: sign(voucher, keys.secretKey), memo, memoSalt, signedAtMs: nowMs };
  insertSignedVoucher(db, row);
  recordSigned(db, channel.id, seq, total);
  recordSpending(db, request.payee, request.amount, nowMs);
  return { ...row, state: 'pending', error: null };
}
