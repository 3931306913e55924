// Receipts: the payee's signed acknowledgement of a voucher. Checked (the channel exists, the
// sender is its payee, the signature is the payee's, the total is within the deposit), stored,
// and forwarded to the payer as proof of delivery. It is not required to match a voucher the
// service has already accepted: a payee that served while the broker was unreachable publishes
// its receipts on reconnect, possibly before the payer's re-sent voucher arrives.
// A receipt arrives as the binary frame of out/receipt-bin or the deprecated JSON of out/receipt
// (answered in its own form); the forward to the payer is always the binary frame (v3).
//
// The forward to the payer waits for no fsync and goes at QoS 0 (docs/PROTOCOL.md, `in/receipt`):
// receipts are cumulative (a later one covers every earlier seq), a payer gets the latest stored
// receipt of each channel again whenever it subscribes (`redeliver`), and the stored copy is only
// that redelivery's source, not what the payer needs now. The payee's own delivery (its PUBACK)
// still waits for the commit, so a receipt it counts as taken survives a broker crash.
import { MqpayError } from '../../../shared/errors.js';
import { fromHex } from '../../../shared/hex.js';
import { CHANNELS_PER_DEVICE_MAX, SIGNATURE_BYTES } from '../../../shared/limits.js';
import { encodeReceiptForward, encodeReceiptRejected } from '../../../shared/inbox-frames.js';
import { decodeReceipt, encodeReceipt, RECEIPT_BYTES, type Receipt } from '../../../shared/receipt.js';
import { parsePayload, PROTOCOL_VERSION, type ReceiptInboxMessage, receiptMessageSchema } from '../../../shared/schemas.js';
import { decodeReceiptFrame, standalone, type SignedReceiptFrame } from '../../../shared/signed-frames.js';
import { inboxTopic } from '../../../shared/topics.js';
import type { GroupCommit } from '../../../sqlite/group-commit.js';
import type { StoreTx } from '../../store/port.js';
import type { ChannelCache } from '../channel-cache.js';
import type { ServiceDeps } from '../ports.js';
import { errorBodyOf, payloadOf } from '../replies.js';
import type { WireForm } from '../wire-form.js';
import type { SignatureVerifier } from './verify-pool.js';

/** The JSON of out/receipt, decoded to the same frame the binary form gives. */
function decodeReceiptJson(payload: Uint8Array): SignedReceiptFrame {
  const message = parsePayload(receiptMessageSchema, payload);
  const bytes = fromHex(message.receipt, RECEIPT_BYTES);
  return { receipt: decodeReceipt(bytes), bytes, signature: fromHex(message.signature, SIGNATURE_BYTES) };
}

export class ReceiptHandler {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly cache: ChannelCache,
    private readonly verifier: SignatureVerifier,
    /** Receipts arrive as fast as vouchers; they share the vouchers' group commit (one fsync). */
    private readonly commits: GroupCommit<StoreTx>,
  ) {}

  /**
   * Sends a payer the latest receipt of each of its open channels. Called when it subscribes to
   * its inbox: a receipt forwarded while it was offline (say the payee reconnected first after
   * a broker restart) went nowhere, and the stored one is the proof it is waiting for.
   */
  async redeliver(payer: string): Promise<void> {
    // A receipt forwarded (at QoS 0) before this subscription went nowhere; its write was queued
    // before the forward, so once the queue is committed the read below holds it.
    await this.commits.flush();
    const receipts = await this.deps.store.reads.latestReceiptsOfPayer(payer, CHANNELS_PER_DEVICE_MAX);
    await Promise.all(receipts.map((row) => {
      const receipt = encodeReceipt({ channelId: row.channelId, seq: row.seq, total: row.total });
      return this.deps.transport.publish(inboxTopic(payer, 'receipt-bin'), encodeReceiptForward(row.payee, receipt, row.signature));
    }));
  }

  async handle(device: string, payload: Uint8Array, form: WireForm = 'json'): Promise<void> {
    let signed: SignedReceiptFrame | null = null;
    try {
      signed = form === 'binary' ? decodeReceiptFrame(standalone(payload)) : decodeReceiptJson(payload);
      await this.accept(device, signed);
    } catch (error) {
      if (!(error instanceof MqpayError)) this.deps.logger.error({ err: error, device }, 'receipt failed');
      await this.deps.transport.publish(...this.refusal(device, error, signed?.receipt ?? null, form));
    }
  }

  /** The refusal in the form the receipt came in: topic and payload. */
  private refusal(device: string, error: unknown, receipt: Receipt | null, form: WireForm): [string, Uint8Array] {
    if (form === 'binary') return [inboxTopic(device, 'receipt-bin'), encodeReceiptRejected(error instanceof MqpayError ? error.code : 'INTERNAL', receipt)];
    const reply: ReceiptInboxMessage = { v: PROTOCOL_VERSION, type: 'receipt.rejected', error: errorBodyOf(error) };
    return [inboxTopic(device, 'receipt'), payloadOf(reply)];
  }

  /** Checks a receipt, forwards it to the payer at once, and resolves once it is stored. */
  private async accept(device: string, signed: SignedReceiptFrame): Promise<void> {
    const { receipt, bytes, signature } = signed;
    const channel = await this.cache.get(receipt.channelId);
    if (channel === null) throw new MqpayError('CHANNEL_UNKNOWN');
    if (channel.payee !== device) throw new MqpayError('NOT_AUTHORIZED', 'only the payee signs receipts');
    const payee = await this.deps.store.reads.device(device);
    if (payee === null || !(await this.verifier.verify(signature, bytes, payee.publicKey))) throw new MqpayError('SIGNATURE_INVALID');
    if (receipt.seq < 1n || receipt.total > channel.deposit) throw new MqpayError('RECEIPT_MISMATCH', 'receipt total above the deposit');
    const nowMs = this.deps.clock.nowMs();
    const stored = this.commits.run((tx) => tx.storeReceipt({ channel: channel.num, seq: receipt.seq, total: receipt.total, signature, nowMs }));
    const forwarded = this.deps.transport.publish(inboxTopic(channel.payer, 'receipt-bin'), encodeReceiptForward(device, bytes, signature), { qos: 0 });
    try {
      await stored;
    } catch (error) {
      this.deps.logger.error({ err: error, device }, 'receipt write failed');
      throw new MqpayError('SERVICE_UNAVAILABLE', 'could not store the receipt');
    } finally {
      await forwarded.catch(() => undefined);
    }
  }
}
