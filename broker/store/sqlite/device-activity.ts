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

const newestFirst = <T extends { readonly at: number }>(items: T[], limit: number): T[] => items.sort((a, b) => b.at - a.at).slice(0, limit);

/** The newest `limit` vouchers over the given channels (at most `limit` read per channel). */
export function recentVouchers(db: Db, channels: readonly bigint[], limit: number): ChannelVoucher[] {
  const query = statement(db, 'SELECT seq, total, accepted_at_ms FROM vouchers WHERE channel = ? ORDER BY seq DESC LIMIT ?');
  const found: (ChannelVoucher & { at: number })[] = [];
  for (const channel of channels) {
    for (const row of query.all(channel, BigInt(limit)) as { seq: bigint; total: bigint; accepted_at_ms: bigint }[]) {
      found.push({ channel, seq: row.seq, total: row.total as Amount, acceptedAtMs: Number(row.accepted_at_ms), at: Number(row.accepted_at_ms) });
    }
  }
  return newestFirst(found, limit).map(({ at: _at, ...voucher }) => voucher);
}

/** The newest `limit` settlement transfers (escrow to payee) over the given channels. */
export function recentSettlementTransfers(db: Db, channels: readonly bigint[], limit: number): ChannelSettlementTransfer[] {
  const query = statement(db, "SELECT settlement, amount, created_at_ms FROM transfers WHERE channel = ? AND kind = 'settle' ORDER BY rowid DESC LIMIT ?");
  const found: (ChannelSettlementTransfer & { at: number })[] = [];
  for (const channel of channels) {
    for (const row of query.all(channel, BigInt(limit)) as { settlement: string; amount: bigint; created_at_ms: bigint }[]) {
      found.push({ channel, settlement: row.settlement, amount: row.amount as Amount, createdAtMs: Number(row.created_at_ms), at: Number(row.created_at_ms) });
    }
  }
  return newestFirst(found, limit).map(({ at: _at, ...transfer }) => transfer);
}
