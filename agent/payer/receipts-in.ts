// Receipts coming back to the payer: the payee's signed word that it holds a voucher. Checked
// against the payee key in the channel certificate and against what this agent signed, then
// kept (the latest per channel) as proof of delivery.
import type { Amount } from '../../shared/amount.js';
import { verify } from '../../shared/crypto.js';
import type { MqpayError } from '../../shared/errors.js';
import { fromHex, toHex } from '../../shared/hex.js';
import { SIGNATURE_BYTES } from '../../shared/limits.js';
import { decodeReceipt, encodeReceipt, RECEIPT_BYTES } from '../../shared/receipt.js';
import type { AgentContext } from '../context.js';
import { SeqWaiters } from '../link/seq-waiters.js';
import { getPayerChannel, recordReceiptIn } from '../store/payer-channels.js';
import { findSignedVoucher } from '../store/signed-vouchers.js';
import type { PaymentReceipt, ReceiptMessage } from '../types.js';
import { PROTOCOL_VERSION } from '../../shared/schemas.js';

export class PayerReceipts {
  private readonly waiters = new SeqWaiters<PaymentReceipt>();
  /**
   * The latest receipt per channel taken in this run, kept until its row is written: the store
   * write is batched, and a `wait` in between must still find it (it resolved no waiter yet).
   */
  private readonly latest = new Map<string, PaymentReceipt>();

  constructor(private readonly ctx: AgentContext) {}

  /** Resolves with the first receipt at or above `seq` (at once if one is already here). */
  wait(channelId: Uint8Array, seq: bigint): Promise<PaymentReceipt> {
    const taken = this.latest.get(toHex(channelId));
    if (taken !== undefined && taken.seq >= seq) return Promise.resolve(taken);
    const known = this.stored(channelId);
    if (known !== null && known.seq >= seq) return Promise.resolve(known);
    return this.waiters.wait(toHex(channelId), seq);
  }

  private stored(channelId: Uint8Array): PaymentReceipt | null {
    const channel = getPayerChannel(this.ctx.db, channelId);
    if (channel === null || channel.receiptSeq === 0n || channel.receiptSignature === null) return null;
    const bytes = encodeReceipt({ channelId, seq: channel.receiptSeq, total: channel.receiptTotal });
    return { seq: channel.receiptSeq, total: channel.receiptTotal, message: { v: PROTOCOL_VERSION, receipt: toHex(bytes), signature: toHex(channel.receiptSignature) } };
  }

  /** Checks and records a receipt; returns false (and logs why) when it is not believable. */
  accept(message: ReceiptMessage, from: string | null): boolean {
    return this.acceptBytes(fromHex(message.receipt, RECEIPT_BYTES), fromHex(message.signature, SIGNATURE_BYTES), from);
  }

  /** `accept` for the receipt's signed bytes and signature, as a binary forward carries them (v3). */
  acceptBytes(bytes: Uint8Array, signature: Uint8Array, from: string | null): boolean {
    const { db, logger, batch } = this.ctx;
    const receipt = decodeReceipt(bytes);
    const hex = toHex(receipt.channelId);
    const channel = getPayerChannel(db, receipt.channelId);
    if (channel === null || channel.payeeKey === null || (from !== null && channel.payee !== from)) {
      logger.warn({ channel: hex, payee: from }, 'receipt for a channel this agent does not pay into');
      return false;
    }
    if (!verify(signature, bytes, channel.payeeKey)) {
      logger.warn({ channel: hex }, 'receipt signature does not verify');
      return false;
    }
    if (!this.matchesSigned(receipt.channelId, receipt.seq, receipt.total, channel.signedSeq)) {
      logger.warn({ channel: hex, seq: receipt.seq.toString() }, 'receipt names a voucher this agent did not sign');
      return false;
    }
    const taken: PaymentReceipt = { seq: receipt.seq, total: receipt.total, message: { v: PROTOCOL_VERSION, receipt: toHex(bytes), signature: toHex(signature) } };
    const previous = this.latest.get(hex);
    if (previous === undefined || previous.seq < taken.seq) this.latest.set(hex, taken);
    this.waiters.resolveUpTo(hex, receipt.seq, taken);
    batch.run(() => recordReceiptIn(db, receipt.channelId, receipt.seq, receipt.total, signature), { durable: false })
      .catch((error: unknown) => logger.error({ err: (error as Error).message }, 'could not store a receipt'))
      .finally(() => {
        if (this.latest.get(hex) === taken) this.latest.delete(hex);
      });
    return true;
  }

  private matchesSigned(channelId: Uint8Array, seq: bigint, total: Amount, signedSeq: bigint): boolean {
    if (seq < 1n || seq > signedSeq) return false;
    const signed = findSignedVoucher(this.ctx.db, channelId, seq);
    // An old voucher's row may have been pruned; its seq is then below the signed one, and the
    // signature above already proves the payee wrote this receipt for this channel.
    return signed === null || signed.total === total;
  }

  rejectUpTo(channel: string, seq: bigint, error: MqpayError): void {
    this.waiters.rejectUpTo(channel, seq, error);
  }

  rejectAll(error: MqpayError): void {
    this.waiters.rejectAll(error);
  }
}
