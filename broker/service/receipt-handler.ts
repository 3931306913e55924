// Receipts: the payee's signed acknowledgement of a voucher. Checked (the channel exists, the
// sender is its payee, the signature is the payee's, the total is within the deposit), stored,
// and forwarded to the payer as proof of delivery. It is not required to match a voucher the
// service has already accepted: a payee that served while the broker was unreachable publishes
// its receipts on reconnect, possibly before the payer's re-sent voucher arrives.
import { MqpayError } from '../../shared/errors.js';
import { fromHex, toHex } from '../../shared/hex.js';
import { SIGNATURE_BYTES } from '../../shared/limits.js';
import type { Amount } from '../../shared/amount.js';
import { CHANNELS_PER_DEVICE_MAX } from '../../shared/limits.js';
import { decodeReceipt, encodeReceipt, RECEIPT_BYTES } from '../../shared/receipt.js';
import { parsePayload, receiptMessageSchema, type ReceiptInboxMessage } from '../../shared/schemas.js';
import { inboxTopic } from '../../shared/topics.js';
import { getDevice } from '../store/devices.js';
import { statement } from '../../sqlite/statement.js';
import type { ChannelCache } from './channel-cache.js';
import { GroupCommit } from './group-commit.js';
import type { ServiceDeps } from './ports.js';
import { errorBodyOf, payloadOf } from './replies.js';

interface ReceiptRow {
  readonly channel: bigint;
  readonly seq: bigint;
  readonly total: bigint;
  readonly signature: Uint8Array;
}

export class ReceiptHandler {
  // Receipts arrive as fast as vouchers; one autocommit (one fsync) each would stall the loop.
  private readonly commits: GroupCommit<ReceiptRow>;

  constructor(private readonly deps: ServiceDeps, private readonly cache: ChannelCache) {
    this.commits = new GroupCommit(deps.db, deps.options.voucherBatchMax, (rows) => this.write(rows), (rows, error) => {
      deps.logger.error({ err: error, receipts: rows.length }, 'receipt batch commit failed');
      return new MqpayError('SERVICE_UNAVAILABLE', 'could not store the receipt');
    });
  }

  /**
   * Sends a payer the latest receipt of each of its open channels. Called when it subscribes to
   * its inbox: a receipt forwarded while it was offline (say the payee reconnected first after
   * a broker restart) went nowhere, and the stored one is the proof it is waiting for.
   */
  async redeliver(payer: string): Promise<void> {
    const rows = statement(
      this.deps.db,
      `SELECT c.id, c.payee, r.seq, r.total, r.signature FROM receipts r JOIN channels c ON c.num = r.channel
       WHERE c.payer = ? AND c.state = 'open' ORDER BY c.num LIMIT ?`,
    ).all(payer, BigInt(CHANNELS_PER_DEVICE_MAX)) as { id: Buffer; payee: string; seq: bigint; total: bigint; signature: Buffer }[];
    await Promise.all(rows.map((row) => {
      const receipt = encodeReceipt({ channelId: new Uint8Array(row.id), seq: row.seq, total: row.total as Amount });
      const message: ReceiptInboxMessage = { v: 2, type: 'receipt', payee: row.payee, receipt: toHex(receipt), signature: toHex(new Uint8Array(row.signature)) };
      return this.deps.transport.publish(inboxTopic(payer, 'receipt'), payloadOf(message));
    }));
  }

  private write(rows: readonly ReceiptRow[]): void {
    const nowMs = BigInt(this.deps.clock.nowMs());
    // Only each channel's latest receipt is kept: it acknowledges every total below it, and a
    // payee cannot grow the table by sending receipts for ever more seqs.
    const insert = statement(
      this.deps.db,
      `INSERT INTO receipts (channel, seq, total, signature, received_at_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (channel) DO UPDATE SET seq = excluded.seq, total = excluded.total, signature = excluded.signature, received_at_ms = excluded.received_at_ms
       WHERE excluded.seq > receipts.seq`,
    );
    for (const row of rows) insert.run(row.channel, row.seq, row.total, row.signature, nowMs);
  }

  async handle(device: string, payload: Uint8Array): Promise<void> {
    let forward: { payer: string; message: ReceiptInboxMessage };
    try {
      forward = await this.accept(device, payload);
    } catch (error) {
      if (!(error instanceof MqpayError)) this.deps.logger.error({ err: error, device }, 'receipt failed');
      const reply: ReceiptInboxMessage = { v: 2, type: 'receipt.rejected', error: errorBodyOf(error) };
      await this.deps.transport.publish(inboxTopic(device, 'receipt'), payloadOf(reply));
      return;
    }
    await this.deps.transport.publish(inboxTopic(forward.payer, 'receipt'), payloadOf(forward.message));
  }

  private async accept(device: string, payload: Uint8Array): Promise<{ payer: string; message: ReceiptInboxMessage }> {
    const message = parsePayload(receiptMessageSchema, payload);
    const bytes = fromHex(message.receipt, RECEIPT_BYTES);
    const signature = fromHex(message.signature, SIGNATURE_BYTES);
    const receipt = decodeReceipt(bytes);
    const channel = this.cache.get(receipt.channelId);
    if (channel === null) throw new MqpayError('CHANNEL_UNKNOWN');
    if (channel.payee !== device) throw new MqpayError('NOT_AUTHORIZED', 'only the payee signs receipts');
    const payee = getDevice(this.deps.db, device);
    if (payee === null || !(await this.deps.verifier.verify(signature, bytes, payee.publicKey))) throw new MqpayError('SIGNATURE_INVALID');
    if (receipt.seq < 1n || receipt.total > channel.deposit) throw new MqpayError('RECEIPT_MISMATCH', 'receipt total above the deposit');
    await this.commits.add({ channel: channel.num, seq: receipt.seq, total: receipt.total, signature });
    return { payer: channel.payer, message: { v: 2, type: 'receipt', payee: device, receipt: toHex(bytes), signature: toHex(signature) } };
  }
}
