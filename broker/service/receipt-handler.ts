// Receipts: the payee's signed acknowledgement of a voucher. Checked (the channel exists, the
// sender is its payee, the signature is the payee's, the total is within the deposit), stored,
// and forwarded to the payer as proof of delivery. It is not required to match a voucher the
// service has already accepted: a payee that served while the broker was unreachable publishes
// its receipts on reconnect, possibly before the payer's re-sent voucher arrives.
import { verify } from '../../shared/crypto.js';
import { MqpayError } from '../../shared/errors.js';
import { fromHex, toHex } from '../../shared/hex.js';
import { SIGNATURE_BYTES } from '../../shared/limits.js';
import { decodeReceipt, RECEIPT_BYTES } from '../../shared/receipt.js';
import { parsePayload, receiptMessageSchema, type ReceiptInboxMessage } from '../../shared/schemas.js';
import { inboxTopic } from '../../shared/topics.js';
import { getDevice } from '../store/devices.js';
import { statement } from '../store/statement.js';
import type { ChannelCache } from './channel-cache.js';
import type { ServiceDeps } from './ports.js';
import { errorBodyOf, payloadOf } from './replies.js';

export class ReceiptHandler {
  constructor(private readonly deps: ServiceDeps, private readonly cache: ChannelCache) {}

  async handle(device: string, payload: Uint8Array): Promise<void> {
    let forward: { payer: string; message: ReceiptInboxMessage };
    try {
      forward = this.accept(device, payload);
    } catch (error) {
      if (!(error instanceof MqpayError)) this.deps.logger.error({ err: error, device }, 'receipt failed');
      const reply: ReceiptInboxMessage = { v: 1, type: 'receipt.rejected', error: errorBodyOf(error) };
      await this.deps.transport.publish(inboxTopic(device, 'receipt'), payloadOf(reply));
      return;
    }
    await this.deps.transport.publish(inboxTopic(forward.payer, 'receipt'), payloadOf(forward.message));
  }

  private accept(device: string, payload: Uint8Array): { payer: string; message: ReceiptInboxMessage } {
    const message = parsePayload(receiptMessageSchema, payload);
    const bytes = fromHex(message.receipt, RECEIPT_BYTES);
    const signature = fromHex(message.signature, SIGNATURE_BYTES);
    const receipt = decodeReceipt(bytes);
    const channel = this.cache.get(receipt.channelId);
    if (channel === null) throw new MqpayError('CHANNEL_UNKNOWN');
    if (channel.payee !== device) throw new MqpayError('NOT_AUTHORIZED', 'only the payee signs receipts');
    const payee = getDevice(this.deps.db, device);
    if (payee === null || !verify(signature, bytes, payee.publicKey)) throw new MqpayError('SIGNATURE_INVALID');
    if (receipt.seq < 1n || receipt.total > channel.deposit) throw new MqpayError('RECEIPT_MISMATCH', 'receipt total above the deposit');
    statement(this.deps.db, 'INSERT OR IGNORE INTO receipts (channel, seq, total, signature, received_at_ms) VALUES (?, ?, ?, ?, ?)').run(
      channel.num, receipt.seq, receipt.total, signature, BigInt(this.deps.clock.nowMs()),
    );
    return { payer: channel.payer, message: { v: 1, type: 'receipt', payee: device, receipt: toHex(bytes), signature: toHex(signature) } };
  }
}
