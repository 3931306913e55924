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
import { ChannelUnusable, needsReservation, SeqsNotReserved, signNextVoucher, type VoucherRequest } from './voucher-signer.js';
import { SeqSync } from './seq-sync.js';
import type { PayerChannel } from '../store/payer-channels.js';
import { VoucherSender, voucherMessageOf } from './voucher-sender.js';
import { SIGN_ATTEMPTS_MAX } from '../limits.js';
import { TickPayer } from './tick-payer.js';
import { Deadline } from '../deadline.js';

export class Payer {
  readonly funding: ChannelFunding;
  readonly sender: VoucherSender;
  readonly receipts: PayerReceipts;
  readonly answers: VoucherAnswers;
  readonly seqSync: SeqSync;
  /** Streaming by hash-chain ticks (protocol v3). */
  readonly ticks: TickPayer;
  private readonly accepted = new SeqWaiters<void>();

  constructor(private readonly ctx: AgentContext) {
    this.funding = new ChannelFunding(ctx);
    this.sender = new VoucherSender(ctx);
    this.receipts = new PayerReceipts(ctx);
    this.answers = new VoucherAnswers(ctx, this.accepted, this.receipts);
    this.seqSync = new SeqSync(ctx);
    this.ticks = new TickPayer(ctx, this.funding, this.seqSync);
  }

  /** Signs and stores a payment (publishing it when connected); does not wait for acceptance. */
  async sign(payee: string, amountInput: AmountInput, options: Pick<PayOptions, 'memo' | 'memoSalt'> = {}, offerDigest: Uint8Array | null = null, deadline: Deadline | null = null): Promise<SignedPayment> {
    const { ctx } = this;
    // Disabled by the operator: nothing signed now could be accepted [docs/DESIGN.md rule 12].
    const disabled = this.disabledRefusal();
    if (disabled !== null) throw disabled;
    const amount = toAmount(amountInput);
    checkDeviceId(payee);
    if (payee === ctx.device) throw new MqpayError('CHANNEL_SELF');
    const memoSalt = memoSaltOf(options);
    if (options.memo !== undefined) memoDigestOf(options.memo, memoSalt ?? new Uint8Array(MEMO_SALT_BYTES));
    this.checkPolicy(payee, amount);
    const signed = this.track(await this.signWithRoom(payee, amount, { memo: options.memo ?? null, memoSalt, offerDigest }, deadline));
    // Refused as disabled while this was being signed (before its waiter existed): it hears it too.
    const refused = this.disabledRefusal();
    if (refused !== null) this.refuseWaiting(refused);
    return signed;
  }

  /** The agent's own spending policy: a refused payment is neither signed nor stored. */
  checkPolicy(payee: string, amount: Amount): void {
    checkPolicy(this.ctx.config.policy, payee, amount, (sinceMs, who) => spentSince(this.ctx.db, sinceMs, who), this.ctx.clock.nowMs());
  }

  /** `deadline` bounds the wait for a channel with room: once it passes, nothing is signed. */
  private async signWithRoom(payee: string, amount: Amount, memo: Pick<VoucherRequest, 'memo' | 'memoSalt' | 'offerDigest'>, deadline: Deadline | null): Promise<SignedVoucherRow> {
    const { ctx } = this;
    for (let attempt = 1; ; attempt++) {
      const ready = this.funding.ensure(payee, amount);
      const channel = await (deadline === null ? ready : deadline.bound(ready, { name: 'channel', awaited: `open channel to ${payee} with room`, consequence: 'nothing was signed or paid (an opening channel is finished on a later connect)' }));
      try {
        const row = await this.signOn(channel, { channelId: channel.id, payee, amount, ...memo }, deadline);
        this.funding.topUpIfLow({ ...channel, signedSeq: row.seq, signedTotal: row.total });
        return row;
      } catch (error) {
        if (!(error instanceof ChannelUnusable)) throw error;
        if (attempt >= SIGN_ATTEMPTS_MAX) throw new MqpayError('SERVICE_UNAVAILABLE', `no usable channel to ${payee}: ${error.message}`);
      }
    }
  }

  /**
   * Signs in a write without an fsync while the channel's reserved block has room, and in a
   * durable one (which reserves the next block) when it has not [docs/DESIGN.md rule 5].
   */
  private async signOn(channel: PayerChannel, request: VoucherRequest, deadline: Deadline | null): Promise<SignedVoucherRow> {
    const { ctx } = this;
    // After a crash, nothing is signed before the service's view is in (bounded even for a bare
    // sign(), which has no deadline of its own: offline, it would wait for ever).
    const unsynced = this.seqSync.ready();
    if (unsynced !== null) {
      const bound = deadline ?? new Deadline(ctx.clock, ctx.timing.paymentTimeoutMs);
      await bound.bound(unsynced, { name: 'sync', awaited: 'sync with the service after a crash', consequence: 'nothing was signed or paid' });
    }
    const once = (durable: boolean): Promise<SignedVoucherRow> => ctx.batch.run(() => {
      const signed = signNextVoucher(ctx, request, durable);
      ctx.batch.afterCommit(() => this.sender.stage(signed));
      return signed;
    }, { durable });
    const durable = needsReservation(channel);
    try {
      return await once(durable);
    } catch (error) {
      // The block ran out between reading the channel and signing (payments in the same turn).
      if (!(error instanceof SeqsNotReserved)) throw error;
      return once(true);
    }
  }

  private track(row: SignedVoucherRow): SignedPayment {
    const channel = toHex(row.channel);
    const facts: PaymentFacts = { channel, payee: row.payee, seq: row.seq, total: row.total, amount: row.amount, ...(row.memoSalt === null ? {} : { memoSalt: toHex(row.memoSalt) }) };
    const accepted = this.accepted.wait(channel, row.seq).then((): Payment => facts);
    accepted.catch(() => undefined); // a caller that only signs need not listen
    return { ...facts, message: voucherMessageOf(row), accepted, waitForReceipt: () => this.receipts.wait(row.channel, row.seq) };
  }

  /**
   * Pays and resolves once the service has accepted (and the payee receipted, if asked). The
   * timeout is one deadline over every wait: a channel to open, the acceptance, the receipt.
   */
  async pay(payee: string, amount: AmountInput, options: PayOptions = {}, offerDigest: Uint8Array | null = null): Promise<Payment> {
    const deadline = new Deadline(this.ctx.clock, options.timeoutMs ?? this.ctx.timing.paymentTimeoutMs);
    const signed = await this.sign(payee, amount, options, offerDigest, deadline);
    const consequence = `voucher seq ${signed.seq} of channel ${signed.channel} is stored and re-sent until accepted, so do not pay again`;
    const payment = await deadline.bound(signed.accepted, { name: 'acceptance', awaited: 'acceptance from the service', consequence });
    if (options.receipt !== true) return payment;
    const receipt = await deadline.bound(signed.waitForReceipt(), { name: 'receipt', awaited: `receipt from ${payee}`, consequence });
    return { ...payment, receipt };
  }

  /** After (re)connecting: re-send what is pending, finish interrupted opens and top-ups. */
  onConnected(): void {
    this.sender.resendPending(true);
    this.seqSync.onConnected();
    this.funding.resume();
  }

  /** The broker's refusal of this device as disabled, if it stands. */
  private disabledRefusal(): MqpayError | null {
    const refusal = this.ctx.link.refusal;
    return refusal?.code === 'DEVICE_DISABLED' ? refusal : null;
  }

  /** The broker refuses this device (disabled): payments waiting for acceptance hear it now. */
  refuseWaiting(error: MqpayError): void {
    this.accepted.rejectAll(error);
    this.receipts.rejectAll(error);
  }

  stop(error: MqpayError): void {
    this.sender.stop();
    this.ticks.stop();
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
