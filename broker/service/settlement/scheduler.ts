// When to settle: every epoch (`epochSeconds`), early when a channel's unsettled amount reaches
// the threshold, on demand (operator), and per channel when it expires. Settlement ids are
// `{reason}-{n}` with n from a counter kept in the store, inside the settling transaction: a
// broker that crashes after committing resumes at the next number, and a clock stepping back
// cannot land on ids already used (which would stall settlement for as long as the step).
import { toHex } from '../../../shared/hex.js';
import { secondsOf } from '../../../shared/time.js';
import type { SettlementOutcome, SettlementReason, SettlementResult } from '../../store/port.js';
import type { CachedChannel, ChannelCache } from '../channel-cache.js';
import type { ServiceDeps } from '../ports.js';
import type { Telemetry } from '../telemetry.js';
import type { UnitOfWork } from '../unit-of-work.js';
import { closeInTransaction } from './closing.js';
import { settlementEffects } from './notices.js';
import { EXPIRED_CHANNELS_PER_TICK_MAX, NOTICE_CHANNELS_PER_TURN_MAX } from '../../limits.js';

export class SettlementScheduler {
  private timer: NodeJS.Timeout | null = null;
  private thresholdPending = false;

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

  /** One epoch: close what expired, then settle every changed channel. Never rejects. */
  async tick(): Promise<SettlementOutcome> {
    await this.closeExpired();
    return this.settle('epoch');
  }

  onVouchersCommitted(channels: readonly CachedChannel[]): void {
    const threshold = this.deps.options.settleThresholdMicro;
    if (threshold <= 0n || this.thresholdPending) return;
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

  /** Closes channels past their expiry, each as its own unit of work, refunding the payer. */
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
      try {
        await this.unitOfWork.commit(async (work) => {
          // Re-read inside the transaction: a close may have committed since the listing.
          const current = await work.tx.channel(row.id);
          if (current === null || current.state !== 'open') return;
          await closeInTransaction({ deps: this.deps, cache: this.cache, telemetry: this.telemetry, work }, current, 'expiry');
        });
      } catch (error) {
        // One channel that cannot close (a full disk) must not stop the others or the epoch.
        this.deps.logger.error({ err: error, channel: toHex(row.id) }, 'expired channel not closed; retried next epoch');
      }
    }
    return expired.length;
  }
}
