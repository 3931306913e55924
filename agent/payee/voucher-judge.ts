// The payee's own judgement of an incoming voucher, pure: the channel as this agent knows it
// (from the service-signed certificate) and the voucher in, a verdict out. It is what lets a
// payee keep serving while the broker is unreachable: a voucher handed over directly is
// checked here exactly as the service would check it. Vouchers the service forwarded were
// already judged by the service; for them the clock checks are skipped (device clocks are not
// trusted for ordering) and a missing certificate is tolerated.
import type { ErrorCode } from '../../shared/errors.js';
import type { Voucher } from '../../shared/voucher.js';
import type { PayeeChannel } from '../store/payee-channels.js';

export type VoucherSource = 'service' | 'direct';

export type IncomingVerdict =
  | { readonly kind: 'accept' }
  /** The voucher this agent already holds, again: nothing new to credit. */
  | { readonly kind: 'duplicate' }
  /** Older than the one held: already covered by it. */
  | { readonly kind: 'stale' }
  | { readonly kind: 'refuse'; readonly code: ErrorCode; readonly detail: string };

const refuse = (code: ErrorCode, detail: string): IncomingVerdict => ({ kind: 'refuse', code, detail });

/** `signatureValid` is null when there is no payer key to check against (uncertified channel). */
export function judgeIncomingVoucher(channel: PayeeChannel | null, voucher: Voucher, signatureValid: boolean | null, source: VoucherSource, nowSeconds: bigint): IncomingVerdict {
  if (channel === null || channel.payerKey === null) {
    if (source === 'service') return { kind: 'accept' };
    return refuse('CHANNEL_UNKNOWN', 'no service certificate for this channel; cannot check the voucher offline');
  }
  if (signatureValid !== true) return refuse('SIGNATURE_INVALID', 'voucher is not signed by the payer named in the certificate');
  if (voucher.seq === channel.receivedSeq) {
    if (voucher.total !== channel.receivedTotal) return refuse('VOUCHER_DOUBLE_SIGNED', `seq ${voucher.seq} was received with another total`);
    return source === 'service' ? { kind: 'duplicate' } : refuse('VOUCHER_SEQ_NOT_INCREASING', `seq ${voucher.seq} was already received (replay)`);
  }
  if (voucher.seq < channel.receivedSeq) {
    return source === 'service' ? { kind: 'stale' } : refuse('VOUCHER_SEQ_NOT_INCREASING', `latest seq received is ${channel.receivedSeq}`);
  }
  if (voucher.total <= channel.receivedTotal) return refuse('VOUCHER_TOTAL_NOT_INCREASING', 'total must exceed the one already received');
  if (channel.deposit !== null && voucher.total > channel.deposit) return refuse('VOUCHER_ABOVE_DEPOSIT', 'total exceeds the certified deposit');
  if (source === 'direct') {
    if (channel.state === 'closed') return refuse('CHANNEL_CLOSED', 'channel is closed');
    if (channel.expiresAtSeconds !== null && channel.expiresAtSeconds <= nowSeconds) return refuse('CHANNEL_EXPIRED', 'channel has expired');
    if (voucher.expiresAtSeconds <= nowSeconds) return refuse('VOUCHER_EXPIRED', 'voucher has expired');
  }
  return { kind: 'accept' };
}
