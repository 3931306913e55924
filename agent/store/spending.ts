// Spending per payee and per minute, for the policy's sliding budgets. Minute buckets keep a
// budget check bounded (an hour is at most 61 rows, a day 1,441) whatever the payment rate.
// The bucket holding the window's start counts whole, so a window is up to a minute longer
// than its name: the error is always on the side of refusing.
import { ZERO, type Amount } from '../../shared/amount.js';
import type { StateDb } from './open-state.js';
import { statement } from './statement.js';

const MINUTE_MS = 60_000;
/** The bucket row that sums all payees. */
const ALL_PAYEES = '';

const minuteOf = (ms: number): bigint => BigInt(Math.floor(ms / MINUTE_MS));

export function recordSpending(db: StateDb, payee: string, amount: Amount, nowMs: number): void {
  const add = statement(db, 'INSERT INTO spending_minutes (payee, minute, amount) VALUES (?, ?, ?) ON CONFLICT (payee, minute) DO UPDATE SET amount = amount + excluded.amount');
  const minute = minuteOf(nowMs);
  add.run(payee, minute, amount);
  add.run(ALL_PAYEES, minute, amount);
}

/** What was signed from the minute holding `sinceMs` on, to one payee (or all, with null). */
export function spentSince(db: StateDb, sinceMs: number, payee: string | null): Amount {
  const row = statement(db, 'SELECT sum(amount) AS spent FROM spending_minutes WHERE payee = ? AND minute >= ?').get(payee ?? ALL_PAYEES, minuteOf(sinceMs)) as { spent: bigint | null };
  return (row.spent ?? ZERO) as Amount;
}

export function pruneSpending(db: StateDb, beforeMs: number): number {
  return statement(db, 'DELETE FROM spending_minutes WHERE minute < ?').run(minuteOf(beforeMs)).changes;
}
