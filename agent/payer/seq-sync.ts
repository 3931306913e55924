// After a crash, the payer learns from the service what it may have signed and lost
// [docs/DESIGN.md rule 5]. Vouchers inside a reserved block are committed without an fsync, so a
// power cut can lose the latest ones locally after they were published. At start, a channel
// whose signed seq is behind its reservation skips to the block's end (those seqs are never
// signed again) and is marked unsynced; on connect, `channel.list` (answered only after every
// voucher this device sent before it is judged) gives the accepted total, which the channel
// adopts before it signs again. A voucher lost locally was either accepted (the service's total
// includes it) or will never be: the link that carried it is gone, and a re-send comes only
// from the store, which no longer holds it.
import type { AgentContext } from '../context.js';
import { toHex } from '../../shared/hex.js';
import { adoptServiceView, skipUnsyncedSeqs, unsyncedPayerChannels } from '../store/payer-channels.js';
import { recordSpending } from '../store/spending.js';
import { takeCleanStop } from '../store/clean-stop.js';
import { ZERO } from '../../shared/amount.js';

export class SeqSync {
  private unsynced: boolean;
  private waiters: (() => void)[] = [];
  private running: Promise<void> | null = null;

  constructor(private readonly ctx: AgentContext) {
    // Plain statements, synchronous=FULL: durable before anything is signed. After a clean stop
    // every commit is durable and the store knows exactly what was signed: nothing to skip.
    const skipped = takeCleanStop(ctx.db) ? 0 : skipUnsyncedSeqs(ctx.db);
    if (skipped > 0) ctx.logger.info({ channels: skipped }, 'skipped unsynced seqs after a restart; the service tells the totals');
    this.unsynced = unsyncedPayerChannels(ctx.db).length > 0;
  }

  /** null when no channel waits for the service's view (almost always); else resolves once none does. */
  ready(): Promise<void> | null {
    if (!this.unsynced) return null;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** On every connect while a channel is unsynced; failures are retried at the next connect. */
  onConnected(): void {
    if (!this.unsynced || this.running !== null) return;
    this.running = this.sync().catch((error: unknown) => {
      this.ctx.logger.warn({ err: (error as Error)?.message ?? String(error) }, 'seq sync not done; retried at the next connect');
    }).finally(() => {
      this.running = null;
    });
  }

  private async sync(): Promise<void> {
    const { ctx } = this;
    const listed = await ctx.link.call('channel.list', {});
    const byId = new Map(listed.channels.map((channel) => [channel.channel, channel]));
    await ctx.batch.run(() => {
      for (const local of unsyncedPayerChannels(ctx.db)) {
        const known = byId.get(toHex(local.id));
        // Unknown to the service: nothing of it was accepted (the healer hands it back if it was).
        const grown = adoptServiceView(ctx.db, local.id, known?.seq ?? 0n, known?.total ?? ZERO);
        if (grown > 0n) recordSpending(ctx.db, local.payee, grown, ctx.clock.nowMs());
      }
    });
    this.unsynced = false;
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}
