// When to settle: every epoch (`epochSeconds`), early when a channel's unsettled amount reaches
// the threshold, on demand (operator), and per channel when it expires. Epoch ids come from the
// epoch's time slot, so a broker that crashes after committing an epoch and restarts within
// the same slot finds the id taken and does not settle it twice.
import { listExpiredOpenChannels } from '../store/channels.js';
import { settleEpoch, settlementChannels, type SettlementReason, type SettlementResult } from '../store/settle.js';
import type { CachedChannel, ChannelCache } from './channel-cache.js';
import { toHex } from '../../shared/hex.js';
import { secondsOf } from '../../shared/time.js';
import { closeNow } from './channel-closing.js';
import type { ServiceDeps } from './ports.js';
import type { Effect } from './rpc/context.js';
import { settlementEffects } from './settlement-notices.js';

/** Expired channels closed per tick; the rest wait for the next tick. */
export const EXPIRED_CHANNELS_PER_TICK_MAX = 1_000;
/** Settled channels whose notices are built per event-loop turn, so the broker stays responsive. */
export const NOTICE_CHANNELS_PER_TURN_MAX = 1_000;

export class SettlementScheduler {
  private timer: NodeJS.Timeout | null = null;
  private thresholdPending = false;
  private sequence = 0;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly cache: ChannelCache,
    private readonly flushVouchers: () => void,
    private readonly publishEffects: (effects: readonly Effect[]) => Promise<void>,
    /** `durationMs`: how long the settling transaction took (for the operator metrics). */
    private readonly onSettled: (result: SettlementResult, durationMs: number) => void,
  ) {}

  start(): void {
    if (this.timer !== null) return;
    // An exception thrown from a timer would end the process; a failed epoch is retried next time.
    this.timer = setInterval(() => {
      try {
        this.tick();
      } catch (error) {
        this.deps.logger.error({ err: error }, 'epoch failed; retried at the next epoch');
      }
    }, this.deps.options.epochSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** One epoch: close what expired, then settle every changed channel. */
  tick(): SettlementResult | null {
    this.closeExpired();
    return this.settle('epoch');
  }

  onVouchersCommitted(channels: readonly CachedChannel[]): void {
    const threshold = this.deps.options.settleThresholdMicro;
    if (threshold <= 0n || this.thresholdPending) return;
    if (!channels.some((channel) => channel.latestTotal - channel.settledTotal >= threshold)) return;
    this.thresholdPending = true;
    setImmediate(() => {
      this.thresholdPending = false;
      this.settle('threshold');
    });
  }

  settle(reason: SettlementReason): SettlementResult | null {
    this.flushVouchers();
    const nowMs = this.deps.clock.nowMs();
    const epochMs = this.deps.options.epochSeconds * 1000;
    this.sequence += 1;
    const id = reason === 'epoch' ? `epoch-${Math.floor(nowMs / epochMs)}` : `${reason}-${nowMs}-${this.sequence}`;
    let result: SettlementResult | null;
    const startedMs = performance.now();
    try {
      result = settleEpoch(this.deps.db, { id, reason, nowMs, feePpm: this.deps.options.feePpm });
    } catch (error) {
      this.deps.logger.error({ err: error, settlement: id }, 'settlement failed; it will be retried next epoch');
      return null;
    }
    if (result !== null) this.applied(result, performance.now() - startedMs);
    return result;
  }

  private applied(result: SettlementResult, durationMs: number): void {
    this.cache.markAllSettled();
    this.deps.logger.info({ settlement: result.id, reason: result.reason, channels: result.channelCount, amount: result.amount.toString() }, 'settled');
    this.onSettled(result, durationMs);
    this.publishNotices(result, 0n);
  }

  /** Notices go out a page of channels per turn, after the settlement is already durable. */
  private publishNotices(result: SettlementResult, after: bigint): void {
    let page;
    try {
      page = settlementChannels(this.deps.db, result.id, after, NOTICE_CHANNELS_PER_TURN_MAX);
    } catch (error) {
      this.deps.logger.warn({ err: error, settlement: result.id }, 'settlement notices stopped');
      return;
    }
    const effects: Effect[] = settlementEffects(result, page.channels);
    if (after !== 0n) effects.pop(); // the operator summary goes out once, with the first page
    this.publishEffects(effects).catch((error: unknown) => this.deps.logger.warn({ err: error }, 'settlement notices not delivered'));
    const next = page.next;
    if (next !== null) setImmediate(() => this.publishNotices(result, next));
  }

  /** Closes channels past their expiry, each in its own transaction, refunding the payer. */
  closeExpired(): number {
    const nowSeconds = secondsOf(this.deps.clock.nowMs());
    const expired = listExpiredOpenChannels(this.deps.db, nowSeconds, EXPIRED_CHANNELS_PER_TICK_MAX);
    const source = { deps: this.deps, cache: this.cache, flushVouchers: this.flushVouchers, onSettled: this.onSettled };
    for (const row of expired) {
      try {
        closeNow(source, this.publishEffects, row, 'expiry');
      } catch (error) {
        // One channel that cannot close (a full disk) must not stop the others or the epoch.
        this.deps.logger.error({ err: error, channel: toHex(row.id) }, 'expired channel not closed; retried next epoch');
      }
    }
    return expired.length;
  }
}
