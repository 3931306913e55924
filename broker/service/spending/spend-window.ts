// One payer's spend over the rolling hour and day, in per-minute buckets [docs/DESIGN.md rule
// 12]. Loaded from the store's buckets on first use, then kept in step in memory: a voucher's
// increase is added when it is judged (before its group commit, so vouchers still in flight
// count and a burst cannot overshoot) and taken back if its commit fails. Every operation is
// amortised O(1): buckets are a queue in minute order, with running sums for the hour and day.
import { addAmount, subAmount, type Amount, ZERO } from '../../../shared/amount.js';
import { assert } from '../../../shared/errors.js';
import { SPEND_DAY_BUCKETS, SPEND_HOUR_BUCKETS } from '../../limits.js';
import type { SpendBucket } from '../../store/port.js';

/** Compacts the queue once this many leading buckets have left the day window. */
const COMPACT_AFTER_BUCKETS = 64;

export class SpendWindow {
  private readonly minutes: number[] = [];
  private readonly amounts: Amount[] = [];
  /** First bucket inside the day window, and inside the hour window. */
  private dayHead = 0;
  private hourHead = 0;
  private daySum: Amount = ZERO;
  private hourSum: Amount = ZERO;
  /** Spend added and not yet committed (the window may not be evicted meanwhile). */
  pending = 0;

  constructor(buckets: readonly SpendBucket[], nowMinute: number) {
    for (const bucket of buckets) this.push(bucket.minute, bucket.amount);
    this.advance(nowMinute);
  }

  /** Spent in the hour and in the day that end with minute `nowMinute`. */
  spent(nowMinute: number): { hour: Amount; day: Amount } {
    this.advance(nowMinute);
    return { hour: this.hourSum, day: this.daySum };
  }

  /** Counts `amount` in minute `minute` (the latest bucket if the clock went back). */
  add(minute: number, amount: Amount): number {
    const last = this.minutes[this.minutes.length - 1];
    const at = last !== undefined && minute < last ? last : minute;
    this.push(at, amount);
    this.advance(at);
    return at;
  }

  /** Takes back an `add` whose commit failed (a no-op once that minute left the day window). */
  remove(minute: number, amount: Amount): void {
    for (let index = this.minutes.length - 1; index >= this.dayHead; index--) {
      if (this.minutes[index] !== minute) continue;
      const held = this.amounts[index] as Amount;
      assert(held >= amount, 'a removed spend was added before');
      this.amounts[index] = subAmount(held, amount);
      this.daySum = subAmount(this.daySum, amount);
      if (index >= this.hourHead) this.hourSum = subAmount(this.hourSum, amount);
      return;
    }
  }

  private push(minute: number, amount: Amount): void {
    const lastIndex = this.minutes.length - 1;
    if (lastIndex >= 0 && this.minutes[lastIndex] === minute) this.amounts[lastIndex] = addAmount(this.amounts[lastIndex] as Amount, amount);
    else {
      this.minutes.push(minute);
      this.amounts.push(amount);
    }
    this.daySum = addAmount(this.daySum, amount);
    this.hourSum = addAmount(this.hourSum, amount);
  }

  /** Drops buckets that left the day window and uncounts those that left the hour. */
  private advance(nowMinute: number): void {
    while (this.dayHead < this.minutes.length && (this.minutes[this.dayHead] as number) <= nowMinute - SPEND_DAY_BUCKETS) {
      this.daySum = subAmount(this.daySum, this.amounts[this.dayHead] as Amount);
      if (this.hourHead === this.dayHead) {
        this.hourSum = subAmount(this.hourSum, this.amounts[this.dayHead] as Amount);
        this.hourHead += 1;
      }
      this.dayHead += 1;
    }
    this.hourHead = Math.max(this.hourHead, this.dayHead);
    while (this.hourHead < this.minutes.length && (this.minutes[this.hourHead] as number) <= nowMinute - SPEND_HOUR_BUCKETS) {
      this.hourSum = subAmount(this.hourSum, this.amounts[this.hourHead] as Amount);
      this.hourHead += 1;
    }
    if (this.dayHead >= COMPACT_AFTER_BUCKETS && this.dayHead * 2 >= this.minutes.length) this.compact();
  }

  private compact(): void {
    this.minutes.splice(0, this.dayHead);
    this.amounts.splice(0, this.dayHead);
    this.hourHead -= this.dayHead;
    this.dayHead = 0;
  }
}
