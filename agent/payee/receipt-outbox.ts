// Publishes the receipts this agent signs as payee, strictly after they are stored. Only the
// highest pending receipt of a channel is published (it vouches for the lower ones); a receipt
// counts as delivered once the broker PUBACKs it. While offline they wait in the store and go
// out after the next connect, which is how receipts for vouchers taken during a broker outage
// reach the payer later. Each goes as the binary frame of protocol v3 on out/receipt-bin.
import { toHex } from '../../shared/hex.js';
import { encodeReceiptFrame } from '../../shared/signed-frames.js';
import type { AgentContext } from '../context.js';
import { latestPendingReceipts, markReceiptsSentUpTo, type ReceiptOutRow } from '../store/receipts-out.js';
import type { ReceiptMessage } from '../types.js';
import { PROTOCOL_VERSION } from '../../shared/schemas.js';

export const receiptMessageOf = (row: Pick<ReceiptOutRow, 'receipt' | 'signature'>): ReceiptMessage => ({ v: PROTOCOL_VERSION, receipt: toHex(row.receipt), signature: toHex(row.signature) });

export class ReceiptOutbox {
  private readonly staged = new Map<string, ReceiptOutRow>();
  private flushQueued = false;

  constructor(private readonly ctx: AgentContext) {}

  /** Called after commit. */
  stage(row: ReceiptOutRow): void {
    const key = toHex(row.channel);
    const current = this.staged.get(key);
    if (current === undefined || current.seq < row.seq) this.staged.set(key, row);
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      const rows = [...this.staged.values()];
      this.staged.clear();
      for (const staged of rows) this.publish(staged);
    });
  }

  private publish(row: ReceiptOutRow): void {
    const { link, batch, db, logger } = this.ctx;
    if (!link.connected) return;
    link.publishFrame('receipt-bin', encodeReceiptFrame(row.receipt, row.signature)).then(
      () => batch.run(() => markReceiptsSentUpTo(db, row.channel, row.seq), { durable: false }),
      (error: unknown) => logger.debug({ channel: toHex(row.channel), err: (error as Error).message }, 'receipt not acknowledged; it stays queued'),
    ).catch((error: unknown) => logger.error({ err: (error as Error).message }, 'could not mark a receipt sent'));
  }

  /** After (re)connecting: everything still queued goes out. */
  publishPending(): number {
    const rows = latestPendingReceipts(this.ctx.db);
    for (const row of rows) this.publish(row);
    return rows.length;
  }
}
