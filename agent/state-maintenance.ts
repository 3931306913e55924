// Keeps the local state bounded [docs/DESIGN.md rule 9]: answered vouchers, received vouchers,
// delivered receipts and spending buckets older than the retention are deleted (pending
// vouchers and receipts never). The retention outlasts the longest budget window, so the
// spending policy always sees a full day.
import type { AgentContext } from './context.js';
import { pruneReceivedVouchers } from './store/payee-channels.js';
import { pruneSentReceipts } from './store/receipts-out.js';
import { pruneSignedVouchers } from './store/signed-vouchers.js';
import { pruneSpending } from './store/spending.js';
import { PRUNE_INTERVAL_MS, STATE_RETENTION_MS } from './limits.js';

export class StateMaintenance {
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly ctx: AgentContext) {}

  prune(): Promise<number> {
    const beforeMs = this.ctx.clock.nowMs() - STATE_RETENTION_MS;
    const { db } = this.ctx;
    return this.ctx.batch.run(() => pruneSignedVouchers(db, beforeMs) + pruneReceivedVouchers(db, beforeMs) + pruneSentReceipts(db, beforeMs) + pruneSpending(db, beforeMs), { durable: false });
  }

  start(): void {
    const run = () => {
      this.prune().catch((error: unknown) => this.ctx.logger.warn({ err: (error as Error).message }, 'pruning old state failed'));
    };
    run();
    this.timer = setInterval(run, PRUNE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
