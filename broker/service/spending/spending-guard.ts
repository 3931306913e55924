// Server-side spending limits, enforced by the service whatever the device's own policy says
// [docs/DESIGN.md rule 12]. A device's limits are its own where the operator set them, else the
// broker's defaults (--device-max-per-payment, --device-max-per-hour, --device-max-per-day); the
// allow-list is per device only. They are read from the store on every use (the SQLite store
// answers from a cache it keeps exact: broker/store/sqlite/device-limits-cache.ts), so a change
// made by `mqpay device limits --data` in another process counts at once.
//
// - A channel open or top-up: the payee must be allowed, and the escrow's unspent part (the
//   deposit less what vouchers already owe) may not exceed max-per-day (LIMIT_DEPOSIT): a deposit
//   is not spent, so it does not count against the windows, but a channel never holds more than
//   a day's spending at once.
// - A voucher: its increase over the channel's previous total counts as one payment
//   (LIMIT_PER_PAYMENT) and against the rolling hour and day (LIMIT_PER_HOUR, LIMIT_PER_DAY;
//   retryable: the same voucher is accepted once the window has room), counting vouchers still
//   in flight. The payee must still be allowed (an allow-list changed after the open counts).
import { addAmount, formatAmount, type Amount } from '../../../shared/amount.js';
import { MqpayError } from '../../../shared/errors.js';
import type { DeviceLimits, StoreReads } from '../../store/port.js';
import type { SpendWindow } from './spend-window.js';
import { minuteOf, SpendWindows } from './spend-windows.js';

/** The broker-wide defaults, validated once in the broker's configuration. */
export interface LimitDefaults {
  readonly maxPerPayment: Amount | null;
  readonly maxPerHour: Amount | null;
  readonly maxPerDay: Amount | null;
}

export const NO_DEFAULTS: LimitDefaults = Object.freeze({ maxPerPayment: null, maxPerHour: null, maxPerDay: null });

const LIMIT_NAMES = { maxPerPayment: 'max-per-payment', maxPerHour: 'max-per-hour', maxPerDay: 'max-per-day' } as const;

/** Why a set of limits contradicts itself (a payment allowed above the hour's limit), or null. */
export function limitOrderProblem(limits: { readonly maxPerPayment: bigint | null; readonly maxPerHour: bigint | null; readonly maxPerDay: bigint | null }): string | null {
  const set = (['maxPerPayment', 'maxPerHour', 'maxPerDay'] as const).filter((name) => limits[name] !== null);
  for (let i = 1; i < set.length; i++) {
    const low = set[i - 1] as keyof typeof LIMIT_NAMES;
    const high = set[i] as keyof typeof LIMIT_NAMES;
    if ((limits[low] as bigint) > (limits[high] as bigint)) return `${LIMIT_NAMES[low]} may not exceed ${LIMIT_NAMES[high]}`;
  }
  return null;
}

/** A device's own limits over the defaults, field by field. */
export function effectiveLimits(own: DeviceLimits, defaults: LimitDefaults): DeviceLimits {
  return {
    maxPerPayment: own.maxPerPayment ?? defaults.maxPerPayment,
    maxPerHour: own.maxPerHour ?? defaults.maxPerHour,
    maxPerDay: own.maxPerDay ?? defaults.maxPerDay,
    allowPayees: own.allowPayees,
  };
}

/** Sets of allow-lists, by the list the store handed out (it hands out the same one while unchanged). */
const allowSets = new WeakMap<readonly string[], ReadonlySet<string>>();

function allowSetOf(list: readonly string[]): ReadonlySet<string> {
  let set = allowSets.get(list);
  if (set === undefined) {
    set = new Set(list);
    allowSets.set(list, set);
  }
  return set;
}

/** Throws LIMIT_PAYEE_NOT_ALLOWED unless the limits allow paying `payee`. */
export function checkPayee(limits: DeviceLimits, payee: string): void {
  if (limits.allowPayees !== null && !allowSetOf(limits.allowPayees).has(payee)) throw new MqpayError('LIMIT_PAYEE_NOT_ALLOWED', payee);
}

/** Throws LIMIT_DEPOSIT when a channel would hold more unspent money than a day's limit. */
export function checkEscrow(limits: DeviceLimits, unspent: Amount): void {
  if (limits.maxPerDay !== null && unspent > limits.maxPerDay) {
    throw new MqpayError('LIMIT_DEPOSIT', `the channel would hold ${formatAmount(unspent)} unspent; max-per-day is ${formatAmount(limits.maxPerDay)}`);
  }
}

/** Throws the limit a voucher raising its total by `increase` would break, given the window now. */
function checkIncrease(limits: DeviceLimits, window: SpendWindow, increase: Amount, nowMs: number): void {
  if (limits.maxPerPayment !== null && increase > limits.maxPerPayment) {
    throw new MqpayError('LIMIT_PER_PAYMENT', `this voucher raises the total by ${formatAmount(increase)}; max-per-payment is ${formatAmount(limits.maxPerPayment)}`);
  }
  if (limits.maxPerHour === null && limits.maxPerDay === null) return;
  const spent = window.spent(minuteOf(nowMs));
  if (limits.maxPerHour !== null && addAmount(spent.hour, increase) > limits.maxPerHour) {
    throw new MqpayError('LIMIT_PER_HOUR', `${formatAmount(spent.hour)} spent in the last hour (vouchers in flight included); max-per-hour is ${formatAmount(limits.maxPerHour)}`);
  }
  if (limits.maxPerDay !== null && addAmount(spent.day, increase) > limits.maxPerDay) {
    throw new MqpayError('LIMIT_PER_DAY', `${formatAmount(spent.day)} spent in the last day (vouchers in flight included); max-per-day is ${formatAmount(limits.maxPerDay)}`);
  }
}

/** A voucher's increase, counted in its payer's window until its commit lands or fails. */
export interface SpendReservation {
  readonly device: string;
  readonly minute: number;
  readonly amount: Amount;
  /** The commit landed: the spend is in the store too. */
  committed(): void;
  /** The commit failed: take the spend back out of the window. */
  failed(): void;
}

/** What a voucher's judgement needs, fetched before it (the judgement itself is synchronous). */
export interface VoucherSpending {
  readonly limits: DeviceLimits;
  readonly window: SpendWindow;
}

export class SpendingGuard {
  private readonly windows: SpendWindows;

  constructor(private readonly reads: StoreReads, private readonly defaults: LimitDefaults) {
    this.windows = new SpendWindows(reads);
  }

  /** The limits in force for `device` now, read from the store. */
  async limitsOf(device: string, reads: StoreReads = this.reads): Promise<DeviceLimits> {
    return this.effective(await reads.deviceLimits(device));
  }

  /**
   * A device's own limits over the defaults. The store hands out the same object while a
   * device's row is unchanged (its cache), so the merge is made once per row, not per voucher.
   */
  private effective(own: DeviceLimits): DeviceLimits {
    let merged = this.merged.get(own);
    if (merged === undefined) {
      merged = effectiveLimits(own, this.defaults);
      this.merged.set(own, merged);
    }
    return merged;
  }

  private readonly merged = new WeakMap<DeviceLimits, DeviceLimits>();

  /** Limits and window of a payer, fetched before its voucher is judged (one promise when its window is in memory). */
  forVoucher(device: string, nowMs: number): Promise<VoucherSpending> {
    const window = this.windows.hit(device);
    if (window === null) return this.loadForVoucher(device, nowMs);
    return this.reads.deviceLimits(device).then((own) => ({ limits: this.effective(own), window }));
  }

  private async loadForVoucher(device: string, nowMs: number): Promise<VoucherSpending> {
    const limits = await this.limitsOf(device);
    return { limits, window: await this.windows.get(device, nowMs) };
  }

  /**
   * Synchronous, right after the judgement: checks a voucher raising its channel's total by
   * `increase` and counts it in the window at once (so the next voucher, even before this one
   * commits, sees it). Throws the LIMIT_ code it breaks.
   */
  reserve(spending: VoucherSpending, device: string, payee: string, increase: Amount, nowMs: number): SpendReservation {
    checkPayee(spending.limits, payee);
    checkIncrease(spending.limits, spending.window, increase, nowMs);
    const { window } = spending;
    const minute = window.add(minuteOf(nowMs), increase);
    window.pending += 1;
    let open = true;
    const settle = (undo: boolean): void => {
      if (!open) return;
      open = false;
      window.pending -= 1;
      if (undo) window.remove(minute, increase);
    };
    return { device, minute, amount: increase, committed: () => settle(false), failed: () => settle(true) };
  }
}
