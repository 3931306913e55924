// When to settle: every epoch (`epochSeconds`), early when a channel's unsettled amount reaches
// the threshold, on demand (operator), and per channel when it expires. Settlement ids are
// `{reason}-{n}` with n from a counter kept in the store, inside the settling transaction: a
// broker that crashes after committing resumes at the next number, and a clock stepping back
// cannot land on ids already used (which would stall settlement for as long as the step).
import { toHex } from '../../../shared/hex.js';
import { secondsOf } from '../../../shared/time.js';
import type { ChannelRow, SettlementOutcome, SettlementReason, SettlementResult } from '../../store/port.js';
import type { RpcContext } from '../rpc/context.js';
import type { CachedChannel, ChannelCache } from '../channel-cache.js';
import type { ServiceDeps } from '../ports.js';
import type { Telemetry } from '../telemetry.js';
import type { UnitOfWork, Work } from '../unit-of-work.js';
import { beginClosing, closeInTransaction, reasonOfWindow } from './closing.js';
import { settlementEffects } from './notices.js';
import { CLOSING_CHANNELS_PER_TICK_MAX, EXPIRED_CHANNELS_PER_TICK_MAX, NOTICE_CHANNELS_PER_TURN_MAX, SPEND_DAY_BUCKETS, SPEND_PRUNE_SLACK_BUCKETS } from '../../limits.js';
import { minuteOf } from '../spending/spend-windows.js';

export class SettlementScheduler {
  private timer: NodeJS.Timeout | null = null;
  private thresholdPending = false;
  /** The minute spend buckets were last pruned (null until the first tick). */
  private spendPrunedMinute: number | null = null;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly cache: ChannelCache,
    private readonly telemetry: Telemetry,
    private readonly unitOfWork: UnitOfWork,
  ) {}

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.tick(), this.deps.options.epochSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** One epoch: open the window of what expired, close what is due, then settle every changed channel. Never rejects. */
  async tick(): Promise<SettlementOutcome> {
    await this.closeExpired();
    await this.closeDue();
    await this.pruneSpend();
    return this.settle('epoch');
  }

  /** Deletes spend buckets every rolling window has left [docs/DESIGN.md rule 12]; never rejects. */
  private async pruneSpend(): Promise<void> {
    // At most once an hour (the first an hour after start): a tick is not the place for chores.
    const nowMinute = minuteOf(this.deps.clock.nowMs());
    if (this.spendPrunedMinute === null || nowMinute - this.spendPrunedMinute < SPEND_PRUNE_SLACK_BUCKETS) {
      this.spendPrunedMinute ??= nowMinute;
      return;
    }
    this.spendPrunedMinute = nowMinute;
    const beforeMinute = nowMinute - SPEND_DAY_BUCKETS - SPEND_PRUNE_SLACK_BUCKETS;
    await this.unitOfWork.commit((work) => work.tx.pruneSpend(beforeMinute)).catch((error: unknown) => this.deps.logger.warn({ err: error }, 'spend buckets not pruned; retried next epoch'));
  }

  onVouchersCommitted(channels: readonly CachedChannel[]): void {
    const threshold = this.deps.options.settleThresholdMicro;
    // Early settlement is the settler's, like epochs: a cluster worker without the lead never settles.
    if (threshold <= 0n || this.thresholdPending || this.timer === null) return;
    if (!channels.some((channel) => channel.latestTotal - channel.settledTotal >= threshold)) return;
    this.thresholdPending = true;
    setImmediate(() => {
      this.thresholdPending = false;
      void this.settle('threshold');
    });
  }

  /**
   * Settles every changed channel as one unit of work. Never rejects: a failed settlement is
   * logged and its channels stay unsettled for the next one (timers call this).
   */
  async settle(reason: SettlementReason): Promise<SettlementOutcome> {
    const nowMs = this.deps.clock.nowMs();
    const startedMs = performance.now();
    let outcome: SettlementOutcome;
    try {
      outcome = await this.unitOfWork.commit(async (work) => {
        const number = await work.tx.nextEpoch();
        const settled = await work.tx.settle({ id: `${reason}-${number}`, reason, nowMs, feePpm: this.deps.options.feePpm });
        if (settled.kind === 'settled') work.afterCommit(() => this.applied(settled.result, performance.now() - startedMs));
        return settled;
      });
    } catch (error) {
      this.deps.logger.error({ err: error, reason }, 'settlement failed; retried at the next epoch');
      return { kind: 'nothing' };
    }
    // A fresh number is never taken: 'already' here would mean the counter went back (a bug).
    if (outcome.kind === 'already') this.deps.logger.error({ reason }, 'assertion failed: a fresh settlement number was already used');
    return outcome;
  }

  private applied(result: SettlementResult, durationMs: number): void {
    this.cache.markAllSettled();
    this.deps.logger.info({ settlement: result.id, reason: result.reason, channels: result.channelCount, amount: result.amount.toString() }, 'settled');
    this.telemetry.emit({ kind: 'settlement', result, durationMs });
    void this.publishNotices(result, 0n);
  }

  /** Notices go out a page of channels per turn, after the settlement is already durable. */
  private async publishNotices(result: SettlementResult, after: bigint): Promise<void> {
    let page;
    try {
      page = await this.deps.store.reads.settlementChannels(result.id, after, NOTICE_CHANNELS_PER_TURN_MAX);
    } catch (error) {
      this.deps.logger.warn({ err: error, settlement: result.id }, 'settlement notices stopped');
      return;
    }
    void this.unitOfWork.publish(settlementEffects(result, page.channels));
    const next = page.next;
    if (next !== null) setImmediate(() => void this.publishNotices(result, next));
  }

  /**
   * Channels past their expiry enter their dispute window, each as its own unit of work
   * [docs/DESIGN.md rule 11]: the payee may still redeem a better voucher before the deadline.
   */
  async closeExpired(): Promise<number> {
    const nowSeconds = secondsOf(this.deps.clock.nowMs());
    let expired;
    try {
      expired = await this.deps.store.reads.expiredOpenChannels(nowSeconds, EXPIRED_CHANNELS_PER_TICK_MAX);
    } catch (error) {
      this.deps.logger.error({ err: error }, 'expired channels not listed; retried next epoch');
      return 0;
    }
    for (const row of expired) {
      await this.eachChannel(row.id, async (work, current) => {
        // Re-read inside the transaction: a close may have committed since the listing.
        if (current.state !== 'open') return;
        await beginClosing(this.contextOf(work), current, 'expiry');
      });
    }
    return expired.length;
  }

  /**
   * Channels whose dispute window ended settle their latest voucher and refund the rest. The
   * deadline is in the database, so a restart finds the same channels; closing twice is not
   * possible (the re-read sees 'closed', and the close settlement id is unique).
   */
  async closeDue(): Promise<number> {
    const nowMs = this.deps.clock.nowMs();
    let due;
    try {
      due = await this.deps.store.reads.dueClosingChannels(nowMs, CLOSING_CHANNELS_PER_TICK_MAX);
    } catch (error) {
      this.deps.logger.error({ err: error }, 'closing channels not listed; retried next epoch');
      return 0;
    }
    for (const row of due) {
      await this.eachChannel(row.id, async (work, current) => {
        if (current.state !== 'closing' || current.closingDeadlineMs === null || current.closingDeadlineMs > nowMs) return;
        await closeInTransaction(this.contextOf(work), current, reasonOfWindow(current), current.closeRequestedBy ?? 'expiry');
      });
    }
    return due.length;
  }

  private contextOf(work: Work): RpcContext {
    return { deps: this.deps, cache: this.cache, telemetry: this.telemetry, work };
  }

  /** One unit of work per channel: one that cannot commit (a full disk) must not stop the others or the epoch. */
  private async eachChannel(id: Uint8Array, step: (work: Work, current: ChannelRow) => Promise<void>): Promise<void> {
    try {
      await this.unitOfWork.commit(async (work) => {
        const current = await work.tx.channel(id);
        if (current !== null) await step(work, current);
      });
    } catch (error) {
      this.deps.logger.error({ err: error, channel: toHex(id) }, 'channel not closed; retried next epoch');
    }
  }
}
