// Signs the next voucher of a channel, inside a batched write: the policy is checked again
// against what is already stored, seq and total are taken from the stored channel, and the
// voucher row and the channel's signed (seq, total) are written in the same transaction as
// the signature is made. Nothing leaves the device before that transaction commits.
import { addAmount, subAmount, type Amount } from '../../shared/amount.js';
import { sign } from '../../shared/crypto.js';
import { MqpayError } from '../../shared/errors.js';
import { MEMO_SALT_BYTES, VOUCHER_SEQ_MAX } from '../../shared/limits.js';
import { encodeVoucher, memoDigestOf } from '../../shared/voucher.js';
import { toHex } from '../../shared/hex.js';
import type { AgentContext } from '../context.js';
import { checkPolicy } from '../policy.js';
import { secondsOf } from '../../shared/time.js';
import { getPayerChannel, recordSigned, setPayerChannelState } from '../store/payer-channels.js';
import { insertSignedVoucher, type SignedVoucherRow } from '../store/signed-vouchers.js';
import { recordSpending, spentSince } from '../store/spending.js';

/** The channel cannot take this payment any more (spent, expired, closed): find another. */
export class ChannelUnusable extends Error {}

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

function expiryOf(ctx: AgentContext, nowMs: number, channelExpiresAtSeconds: bigint): bigint {
  const wanted = secondsOf(nowMs) + BigInt(ctx.config.voucherLifetimeSeconds);
  return wanted < channelExpiresAtSeconds ? wanted : channelExpiresAtSeconds;
}

/** Runs inside a WriteBatch write. Throws ChannelUnusable, a POLICY_* error, or returns the stored row. */
export function signNextVoucher(ctx: AgentContext, request: VoucherRequest): SignedVoucherRow {
  const { db, keys, config, clock } = ctx;
  // While a key rotation is undecided, the old key's vouchers may already be refused [docs/DESIGN.md rule 12].
  if (keys.pending !== null) throw new MqpayError('SERVICE_UNAVAILABLE', 'a key rotation is in progress; pay again once it is done');
  const nowMs = clock.nowMs();
  const channel = getPayerChannel(db, request.channelId);
  if (channel === null || channel.state !== 'open') throw new ChannelUnusable('channel is not open');
  if (channel.expiresAtSeconds <= secondsOf(nowMs)) throw new ChannelUnusable('channel has expired');
  checkPolicy(config.policy, request.payee, request.amount, (sinceMs, payee) => spentSince(db, sinceMs, payee), nowMs);
  if (subAmount(channel.deposit, channel.signedTotal) < request.amount) throw new ChannelUnusable('not enough unspent deposit');
  const seq = channel.signedSeq + 1n;
  if (seq > VOUCHER_SEQ_MAX) {
    setPayerChannelState(db, channel.id, 'failed', 'seq exhausted');
    throw new ChannelUnusable('seq exhausted');
  }
  const total = addAmount(channel.signedTotal, request.amount);
  const { memo, memoSalt, memoDigest } = memoOf(ctx, request);
  const voucher = encodeVoucher({ channelId: channel.id, seq, total, expiresAtSeconds: expiryOf(ctx, nowMs, channel.expiresAtSeconds), memoDigest });
  const row = { channel: channel.id, seq, total, amount: request.amount, payee: request.payee, voucher, signature: sign(voucher, keys.secretKey), memo, memoSalt, signedAtMs: nowMs };
  insertSignedVoucher(db, row);
  recordSigned(db, channel.id, seq, total);
  recordSpending(db, request.payee, request.amount, nowMs);
  return { ...row, state: 'pending', error: null };
}
