// The service's judgement of a voucher against its channel, pure: channel state and voucher in,
// verdict out. The signature is checked by the caller (it needs the payer's key), and only when
// the verdict says it matters, so re-sends of the latest voucher cost no verification.
import type { Amount } from './amount.js';
import type { ErrorCode } from './errors.js';
import type { Voucher } from './voucher.js';

export interface VoucherChannelState {
  readonly payer: string;
  readonly deposit: Amount;
  readonly expiresAtSeconds: bigint;
  readonly state: 'open' | 'closing' | 'closed';
  readonly latestSeq: bigint;
  readonly latestTotal: Amount;
}

export type VoucherVerdict =
  /** A new voucher that advances the channel, if its signature verifies. */
  | { readonly kind: 'advance' }
  /** The latest accepted voucher again: same answer as before, if its signature verifies. */
  | { readonly kind: 'repeat-latest' }
  /** Same seq as the latest but another total: evidence of double-signing, if it verifies. */
  | { readonly kind: 'double-signed' }
  /** An older seq: the caller looks it up to tell a re-send from a double-sign. */
  | { readonly kind: 'older' }
  | { readonly kind: 'reject'; readonly code: ErrorCode };

export function judgeVoucher(channel: VoucherChannelState | null, publisher: string, voucher: Voucher, nowSeconds: bigint): VoucherVerdict {
  if (channel === null) return { kind: 'reject', code: 'CHANNEL_UNKNOWN' };
  if (channel.payer !== publisher) return { kind: 'reject', code: 'CHANNEL_NOT_PAYER' };
  // Re-sends come first: a voucher accepted before a close must still get "accepted".
  if (voucher.seq === channel.latestSeq) {
    return voucher.total === channel.latestTotal ? { kind: 'repeat-latest' } : { kind: 'double-signed' };
  }
  if (voucher.seq < channel.latestSeq) return { kind: 'older' };
  if (channel.state === 'closed') return { kind: 'reject', code: 'CHANNEL_CLOSED' };
  // Inside a dispute window the payer adds nothing; only the payee's redemption counts.
  if (channel.state === 'closing') return { kind: 'reject', code: 'CHANNEL_CLOSING' };
  if (channel.expiresAtSeconds <= nowSeconds) return { kind: 'reject', code: 'CHANNEL_EXPIRED' };
  if (voucher.expiresAtSeconds <= nowSeconds) return { kind: 'reject', code: 'VOUCHER_EXPIRED' };
  if (voucher.total <= channel.latestTotal) return { kind: 'reject', code: 'VOUCHER_TOTAL_NOT_INCREASING' };
  if (voucher.total > channel.deposit) return { kind: 'reject', code: 'VOUCHER_ABOVE_DEPOSIT' };
  return { kind: 'advance' };
}

/**
 * A payee's redemption of a payer-signed voucher [docs/DESIGN.md rule 11]: the same rules as the
 * payer's own publication (seq and total increasing, within the deposit; the caller checks the
 * payer's signature), with two differences. It counts inside a dispute window ('closing'), which
 * exists for it. Expiry does not refuse it: the channel's expiry only opens the window, and the
 * voucher's own expiry bounds when the payee may accept it offline, a moment the service cannot
 * know; the payer signed the total, so it is owed until the channel is closed.
 */
export function judgeRedemption(channel: VoucherChannelState | null, voucher: Voucher): VoucherVerdict {
  if (channel === null) return { kind: 'reject', code: 'CHANNEL_UNKNOWN' };
  if (voucher.seq === channel.latestSeq) {
    return voucher.total === channel.latestTotal ? { kind: 'repeat-latest' } : { kind: 'double-signed' };
  }
  if (voucher.seq < channel.latestSeq) return { kind: 'older' };
  if (channel.state === 'closed') return { kind: 'reject', code: 'CHANNEL_CLOSED' };
  if (voucher.total <= channel.latestTotal) return { kind: 'reject', code: 'VOUCHER_TOTAL_NOT_INCREASING' };
  if (voucher.total > channel.deposit) return { kind: 'reject', code: 'VOUCHER_ABOVE_DEPOSIT' };
  return { kind: 'advance' };
}
