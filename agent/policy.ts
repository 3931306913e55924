// The spending policy: what an autonomous device may pay without asking its owner. Checked
// before anything is signed or stored (and again inside the transaction that signs, so two
// payments racing each other cannot both squeeze under one budget). Budgets count what was
// signed, over sliding windows (minute resolution, rounded towards refusing): a signed voucher
// can move money even if its answer was lost.
import { addAmount, formatAmount, type Amount } from '../shared/amount.js';
import { MqpayError } from '../shared/errors.js';
import type { SpendingPolicy } from './home/config.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** What was signed since a moment, to one payee (or to all with null). */
export type SpentSince = (sinceMs: number, payee: string | null) => Amount;

const WINDOWS = [
  { name: 'hourly', key: 'hour', lengthMs: HOUR_MS },
  { name: 'daily', key: 'day', lengthMs: DAY_MS },
] as const;

function checkBudgets(budgets: SpendingPolicy['overall'], scope: string, payee: string | null, amount: Amount, spentSince: SpentSince, nowMs: number): void {
  if (budgets === undefined) return;
  for (const window of WINDOWS) {
    const limit = budgets[window.key];
    if (limit === undefined) continue;
    const spent = spentSince(nowMs - window.lengthMs, payee);
    if (addAmount(spent, amount) > limit) {
      throw new MqpayError('POLICY_BUDGET_EXCEEDED', `${scope} ${window.name} budget is ${formatAmount(limit)}; ${formatAmount(spent)} already spent, ${formatAmount(amount)} more asked`);
    }
  }
}

/** Throws the POLICY_* error that refuses this payment, or returns when it is allowed. */
export function checkPolicy(policy: SpendingPolicy, payee: string, amount: Amount, spentSince: SpentSince, nowMs: number): void {
  if (amount <= 0n) throw new MqpayError('AMOUNT_ZERO');
  if (policy.allow !== undefined && !policy.allow.includes(payee)) throw new MqpayError('POLICY_PAYEE_NOT_ALLOWED', payee);
  if (policy.maxPerPayment !== undefined && amount > policy.maxPerPayment) {
    throw new MqpayError('POLICY_MAX_PER_PAYMENT', `${formatAmount(amount)} > ${formatAmount(policy.maxPerPayment)}`);
  }
  checkBudgets(policy.perPayee, `per-payee (${payee})`, payee, amount, spentSince, nowMs);
  checkBudgets(policy.overall, 'overall', null, amount, spentSince, nowMs);
}
