// Getting paid. Every incoming voucher, forwarded by the service or handed over directly, is
// judged against the channel certificate, stored, answered with a signed receipt (stored in
// the same transaction, published after commit) and only then reported to the handlers.
// A voucher the service forwarded is committed without an fsync: the service holds its durable
// copy (it forwards only what it committed), so the receipt waits for no disk
// [docs/DESIGN.md rule 5]; after a power cut the store may lag, and the next forward (or the
// Redeemer, agent/payee/redeemer.ts) brings it to the service's total. A voucher handed over
// directly is known to no one else yet: its commit is durable before the receipt goes out.
import { subAmount, ZERO } from '../../shared/amount.js';
import { sign, verify } from '../../shared/crypto.js';
import { MqpayError } from '../../shared/errors.js';
import { fromHex, toHex } from '../../shared/hex.js';
import { SIGNATURE_BYTES } from '../../shared/limits.js';
import { encodeReceipt } from '../../shared/receipt.js';
import { parsePayload, voucherMessageSchema } from '../../shared/schemas.js';
import { decodeVoucher, VOUCHER_BYTES } from '../../shared/voucher.js';
import type { AgentContext } from '../context.js';
import { secondsOf } from '../../shared/time.js';
import { getPayeeChannel, insertUncertifiedChannel, recordReceivedVoucher } from '../store/payee-channels.js';
import { insertReceiptOut, requeueReceipt } from '../store/receipts-out.js';
import type { PaymentHandler, ReceivedPayment } from '../types.js';
import { ReceiptOutbox, receiptMessageOf } from './receipt-outbox.js';
import { Redeemer } from './redeemer.js';
import { TickReceiver } from './tick-receiver.js';
import { judgeIncomingVoucher, type VoucherSource } from './voucher-judge.js';

interface Incoming {
  readonly bytes: Uint8Array;
  readonly signature: Uint8Array;
  readonly source: VoucherSource;
  /** The payer named by the service's forward; needed when the certificate was missed. */
  readonly payer: string | null;
}

export class Payee {
  readonly outbox: ReceiptOutbox;
  readonly redeemer: Redeemer;
  /** Hash-chain ticks forwarded by the service (protocol v3). */
  readonly ticks: TickReceiver;
  private readonly handlers = new Set<PaymentHandler>();

  constructor(private readonly ctx: AgentContext) {
    this.outbox = new ReceiptOutbox(ctx);
    this.redeemer = new Redeemer(ctx);
    this.ticks = new TickReceiver(ctx);
  }

  onPayment(handler: PaymentHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** A voucher the service forwarded; null when it held nothing new. */
  onForwarded(forward: { readonly payer: string; readonly bytes: Uint8Array; readonly signature: Uint8Array }): Promise<ReceivedPayment | null> {
    return this.receive({ bytes: forward.bytes, signature: forward.signature, source: 'service', payer: forward.payer });
  }

  /** A voucher handed over directly (local link); throws the MqpayError that refuses it. */
  async receiveVoucher(message: unknown): Promise<ReceivedPayment> {
    let json: string;
    try {
      json = JSON.stringify(message);
    } catch {
      throw new MqpayError('MESSAGE_INVALID', 'voucher message is not JSON-serialisable');
    }
    const parsed = parsePayload(voucherMessageSchema, json);
    const payment = await this.receive({ bytes: fromHex(parsed.voucher, VOUCHER_BYTES), signature: fromHex(parsed.signature, SIGNATURE_BYTES), source: 'direct', payer: null });
    if (payment === null) throw new MqpayError('VOUCHER_SEQ_NOT_INCREASING', 'nothing new in this voucher');
    return payment;
  }

  private receive(incoming: Incoming): Promise<ReceivedPayment | null> {
    return this.ctx.batch.run(() => this.judgeAndStore(incoming), { durable: incoming.source === 'direct' });
  }

  private judgeAndStore(incoming: Incoming): ReceivedPayment | null {
    const { db, clock, batch } = this.ctx;
    const voucher = decodeVoucher(incoming.bytes);
    const channel = getPayeeChannel(db, voucher.channelId);
    const payerKey = channel === null ? null : channel.payerKey;
    const signatureValid = payerKey === null ? null : verify(incoming.signature, incoming.bytes, payerKey);
    const verdict = judgeIncomingVoucher(channel, voucher, signatureValid, incoming.source, secondsOf(clock.nowMs()));
    if (verdict.kind === 'refuse') throw new MqpayError(verdict.code, verdict.detail);
    if (verdict.kind === 'stale') return null;
    if (verdict.kind === 'duplicate') {
      // The payer is re-sending: it may have missed the receipt, so queue it once more.
      if (requeueReceipt(db, voucher.channelId, voucher.seq)) batch.afterCommit(() => this.outbox.publishPending());
      return null;
    }
    const payer = channel?.payer ?? incoming.payer;
    if (payer === null) throw new MqpayError('CHANNEL_UNKNOWN');
    if (channel === null) insertUncertifiedChannel(db, voucher.channelId, payer, clock.nowMs());
    const amount = subAmount(voucher.total, channel?.receivedTotal ?? ZERO);
    const nowMs = clock.nowMs();
    recordReceivedVoucher(db, { channel: voucher.channelId, seq: voucher.seq, total: voucher.total, amount, voucher: incoming.bytes, signature: incoming.signature, source: incoming.source, nowMs });
    const receipt = encodeReceipt({ channelId: voucher.channelId, seq: voucher.seq, total: voucher.total });
    const row = { channel: voucher.channelId, seq: voucher.seq, total: voucher.total, receipt, signature: sign(receipt, this.ctx.keys.secretKey) };
    insertReceiptOut(db, row, nowMs);
    const payment: ReceivedPayment = {
      channel: toHex(voucher.channelId), payer, seq: voucher.seq, total: voucher.total, amount, source: incoming.source,
      certified: payerKey !== null, receipt: receiptMessageOf(row),
      ...(voucher.memoDigest === null ? {} : { memoDigest: toHex(voucher.memoDigest) }),
    };
    batch.afterCommit(() => {
      this.outbox.stage(row);
      this.notify(payment);
    });
    return payment;
  }

  private notify(payment: ReceivedPayment): void {
    for (const handler of this.handlers) {
      try {
        Promise.resolve(handler(payment)).catch((error: unknown) => this.handlerFailed(error));
      } catch (error) {
        this.handlerFailed(error);
      }
    }
  }

  private handlerFailed(error: unknown): void {
    this.ctx.logger.error({ err: (error as Error)?.message ?? String(error) }, 'payment handler failed');
  }
}
