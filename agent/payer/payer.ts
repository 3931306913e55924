// Paying: policy first (nothing is signed or stored for a refused payment), then a channel
// with room, then the voucher signed and stored in one transaction, published after commit,
// and the caller answered when the service accepts it (and, if asked, when the payee's
// receipt arrives).
import { MqpayError } from '../../shared/errors.js';
import { toHex } from '../../shared/hex.js';
import { checkDeviceId } from '../../shared/ids.js';
import { memoDigestOf } from '../../shared/voucher.js';
import { MEMO_SALT_BYTES } from '../../shared/limits.js';
import { fromHex } from '../../shared/hex.js';
import { toAmount, type AmountInput } from '../amount-input.js';
import type { AgentContext } from '../context.js';
import { checkPolicy } from '../policy.js';
import { SeqWaiters } from '../link/seq-waiters.js';
import type { SignedVoucherRow } from '../store/signed-vouchers.js';
import { spentSince } from '../store/spending.js';
import type { Amount } from '../../shared/amount.js';
import type { Payment, PaymentFacts, PayOptions, SignedPayment } from '../types.js';
import { ChannelFunding } from './channel-funding.js';
import { PayerReceipts } from './receipts-in.js';
import { VoucherAnswers } from './voucher-answers.js';
import { ChannelUnusable, signNextVoucher, type VoucherRequest } from './voucher-signer.js';
import { VoucherSender, voucherMessageOf } from './voucher-sender.js';
import { SIGN_ATTEMPTS_MAX } from '../limits.js';

// Bounds a wait without cancelling the work behind it: a payment that times out stays stored
// and pending, only the caller stops waiting.
function withTimeout<T>(promise: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

export class Payer {
  readonly funding: ChannelFunding;
  readonly sender: VoucherSender;
  readonly receipts: PayerReceipts;
  readonly answers: VoucherAnswers;
  private readonly accepted = new SeqWaiters<void>();

  constructor(private readonly ctx: AgentContext) {
    this.funding = new ChannelFunding(ctx);
    this.sender = new VoucherSender(ctx);
    this.receipts = new PayerReceipts(ctx);
    this.answers = new VoucherAnswers(ctx, this.accepted, this.receipts);
  }

  /** Signs and stores a payment (publishing it when connected); does not wait for acceptance. */
  async sign(payee: string, amountInput: AmountInput, options: Pick<PayOptions, 'memo' | 'memoSalt'> = {}, offerDigest: Uint8Array | null = null): Promise<SignedPayment> {
    const { ctx } = this;
    const amount = toAmount(amountInput);
    checkDeviceId(payee);
    if (payee === ctx.device) throw new MqpayError('CHANNEL_SELF');
    const memoSalt = memoSaltOf(options);
    if (options.memo !== undefined) memoDigestOf(options.memo, memoSalt ?? new Uint8Array(MEMO_SALT_BYTES));
    this.checkPolicy(payee, amount);
    return this.track(await this.signWithRoom(payee, amount, { memo: options.memo ?? null, memoSalt, offerDigest }));
  }

  /** The agent's own spending policy: a refused payment is neither signed nor stored. */
  checkPolicy(payee: string, amount: Amount): void {
    checkPolicy(this.ctx.config.policy, payee, amount, (sinceMs, who) => spentSince(this.ctx.db, sinceMs, who), this.ctx.clock.nowMs());
  }

  private async signWithRoom(payee: string, amount: Amount, memo: Pick<VoucherRequest, 'memo' | 'memoSalt' | 'offerDigest'>): Promise<SignedVoucherRow> {
    const { ctx } = this;
    for (let attempt = 1; ; attempt++) {
      const channel = await this.funding.ensure(payee, amount);
      try {
        const row = await ctx.batch.run(() => {
          const signed = signNextVoucher(ctx, { channelId: channel.id, payee, amount, ...memo });
          ctx.batch.afterCommit(() => this.sender.stage(signed));
          return signed;
        });
        this.funding.topUpIfLow({ ...channel, signedSeq: row.seq, signedTotal: row.total });
        return row;
      } catch (error) {
        if (!(error instanceof ChannelUnusable)) throw error;
        if (attempt >= SIGN_ATTEMPTS_MAX) throw new MqpayError('SERVICE_UNAVAILABLE', `no usable channel to ${payee}: ${error.message}`);
      }
    }
  }

  private track(row: SignedVoucherRow): SignedPayment {
    const channel = toHex(row.channel);
    const facts: PaymentFacts = { channel, payee: row.payee, seq: row.seq, total: row.total, amount: row.amount, ...(row.memoSalt === null ? {} : { memoSalt: toHex(row.memoSalt) }) };
    const accepted = this.accepted.wait(channel, row.seq).then((): Payment => facts);
    accepted.catch(() => undefined); // a caller that only signs need not listen
    return { ...facts, message: voucherMessageOf(row), accepted, waitForReceipt: () => this.receipts.wait(row.channel, row.seq) };
  }

  /** Pays and resolves once the service has accepted (and the payee receipted, if asked). */
  async pay(payee: string, amount: AmountInput, options: PayOptions = {}, offerDigest: Uint8Array | null = null): Promise<Payment> {
    const signed = await this.sign(payee, amount, options, offerDigest);
    const startedMs = this.ctx.clock.nowMs();
    const timeoutMs = options.timeoutMs ?? this.ctx.timing.paymentTimeoutMs;
    const stillPending = (what: string) => () =>
      new MqpayError('TIMEOUT', `no ${what} within ${timeoutMs} ms; voucher seq ${signed.seq} of channel ${signed.channel} is stored and re-sent until accepted, so do not pay again`);
    const payment = await withTimeout(signed.accepted, timeoutMs, stillPending('acceptance'));
    if (options.receipt !== true) return payment;
    const leftMs = Math.max(1, timeoutMs - (this.ctx.clock.nowMs() - startedMs));
    const receipt = await withTimeout(signed.waitForReceipt(), leftMs, stillPending('receipt'));
    return { ...payment, receipt };
  }

  /** After (re)connecting: re-send what is pending, finish interrupted opens and top-ups. */
  onConnected(): void {
    this.sender.resendPending(true);
    this.funding.resume();
  }

  stop(error: MqpayError): void {
    this.sender.stop();
    this.accepted.rejectAll(error);
    this.receipts.rejectAll(error);
  }
}

/** A salt the payee chose (an invoice) is used as given; else the signer draws a fresh one. */
function memoSaltOf(options: Pick<PayOptions, 'memo' | 'memoSalt'>): Uint8Array | null {
  if (options.memoSalt === undefined) return null;
  if (options.memo === undefined) throw new MqpayError('MESSAGE_INVALID', 'a memo salt without a memo');
  if (!/^[0-9a-f]{32}$/.test(options.memoSalt)) throw new MqpayError('MESSAGE_INVALID', `memo salt must be ${MEMO_SALT_BYTES} bytes as 32 lower-case hex characters`);
  return fromHex(options.memoSalt);
}
