// What the operator's device page reads, each list bounded however busy the device is: its
// channels counted by role, its newest channels, and per channel only the newest vouchers and
// settlement transfers (walked backwards on the primary key and the channel index, never a sort
// of the device's whole history).
import type { Amount } from '../../../shared/amount.js';
import type { Db } from './open-database.js';
import { statement } from '../../../sqlite/statement.js';

export interface ChannelRoleCounts {
  readonly asPayer: number;
  readonly asPayee: number;
}

export interface ChannelVoucher {
  readonly channel: bigint;
  readonly seq: bigint;
  readonly total: Amount;
  readonly acceptedAtMs: number;
}

export interface ChannelSettlementTransfer {
  readonly channel: bigint;
  readonly settlement: string;
  readonly amount: Amount;
  readonly createdAtMs: number;
}

export function channelRoleCounts(db: Db, device: string): ChannelRoleCounts {
  const payer = statement(db, 'SELECT count(*) AS n FROM channels WHERE payer = ?').get(device) as { n: bigint };
  const payee = statement(db, 'SELECT count(*) AS n FROM channels WHERE payee = ?').get(device) as { n: bigint };
  return { asPayer: Number(payer.n), asPayee: Number(payee.n) };
}

/**
 * The newest `limit` rows over the given channels: at most `limit` read per channel (the query
 * takes the channel and the limit), then merged by time.
 */
function newestOver<R, T extends { readonly channel: bigint }>(sql: { all(...params: unknown[]): unknown[] }, channels: readonly bigint[], limit: number, item: (channel: bigint, row: R) => T & { readonly atMs: number }): T[] {
  const found: (T & { readonly atMs: number })[] = [];
  for (const channel of channels) for (const row of sql.all(channel, BigInt(limit)) as R[]) found.push(item(channel, row));
  return found.sort((a, b) => b.atMs - a.atMs).slice(0, limit);
}

/** The newest `limit` vouchers over the given channels. */
export function recentVouchers(db: Db, channels: readonly bigint[], limit: number): ChannelVoucher[] {
  const query = statement(db, 'SELECT seq, total, accepted_at_ms FROM vouchers WHERE channel = ? ORDER BY seq DESC LIMIT ?');
  return newestOver(query, channels, limit, (channel, row: { seq: bigint; total: bigint; accepted_at_ms: bigint }) =>
    ({ channel, seq: row.seq, total: row.total as Amount, acceptedAtMs: Number(row.accepted_at_ms), atMs: Number(row.accepted_at_ms) }));
}

/** The newest `limit` settlement transfers (escrow to payee) over the given channels. */
export function recentSettlementTransfers(db: Db, channels: readonly bigint[], limit: number): ChannelSettlementTransfer[] {
  const query = statement(db, "SELECT settlement, amount, created_at_ms FROM transfers WHERE channel = ? AND kind = 'settle' ORDER BY rowid DESC LIMIT ?");
  return newestOver(query, channels, limit, (channel, row: { settlement: string; amount: bigint; created_at_ms: bigint }) =>
    ({ channel, settlement: row.settlement, amount: row.amount as Amount, createdAtMs: Number(row.created_at_ms), atMs: Number(row.created_at_ms) }));
}
