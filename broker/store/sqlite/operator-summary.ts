// The dashboard's headline totals, each one aggregate in SQL over the whole ledger (never a
// count of one page of a list): devices by status, channels by state, settlements and their
// amounts. Account balances come from ledgerTotals (operator-reads.ts).
import type { Db } from './open-database.js';
import { statement } from '../../../sqlite/statement.js';

export interface SummaryCounts {
  readonly devices: { readonly enrolled: number; readonly disabled: number };
  readonly channels: { readonly open: number; readonly closing: number; readonly closed: number };
  readonly settlements: { readonly count: number; readonly amount: bigint; readonly fee: bigint };
}

// A channel in its dispute window is 'open' with a deadline [docs/DESIGN.md rule 11].
const CHANNEL_STATES = `SELECT
  COALESCE(SUM(state = 'open' AND closing_deadline_ms IS NULL), 0) AS open,
  COALESCE(SUM(state = 'open' AND closing_deadline_ms IS NOT NULL), 0) AS closing,
  COALESCE(SUM(state = 'closed'), 0) AS closed
  FROM channels`;

export function summaryCounts(db: Db): SummaryCounts {
  const devices = statement(db, "SELECT count(*) AS enrolled, COALESCE(SUM(status = 'disabled'), 0) AS disabled FROM devices").get() as { enrolled: bigint; disabled: bigint };
  const channels = statement(db, CHANNEL_STATES).get() as { open: bigint; closing: bigint; closed: bigint };
  const settlements = statement(db, 'SELECT count(*) AS n, COALESCE(SUM(amount), 0) AS amount, COALESCE(SUM(fee), 0) AS fee FROM settlements').get() as { n: bigint; amount: bigint; fee: bigint };
  return {
    devices: { enrolled: Number(devices.enrolled), disabled: Number(devices.disabled) },
    channels: { open: Number(channels.open), closing: Number(channels.closing), closed: Number(channels.closed) },
    settlements: { count: Number(settlements.n), amount: settlements.amount, fee: settlements.fee },
  };
}
