// The bookkeeping export's rows [docs/DESIGN.md rule 13]: every transfer (fund, deposit, topup,
// settle, fee, refund, payout, move) and every settlement in a time range [from, to), optionally
// only those touching one device: its wallet, or a channel where it pays or is paid. Read in one
// read transaction, so transfers and settlements come from one snapshot; at most `limit` of each.
import type { Amount } from '../../../shared/amount.js';
import { statement } from '../../../sqlite/statement.js';
import { walletAccount } from '../accounts.js';
import type { Db } from './open-database.js';

export interface ExportQuery {
  readonly fromMs: number;
  /** Exclusive. */
  readonly toMs: number;
  readonly device: string | null;
  readonly limit: number;
}

export type ExportRecord =
  | { readonly record: 'transfer'; readonly atMs: number; readonly id: string; readonly kind: string; readonly from: string; readonly to: string; readonly amount: Amount; readonly channel: Uint8Array | null; readonly settlement: string | null }
  | { readonly record: 'settlement'; readonly atMs: number; readonly id: string; readonly kind: string; readonly amount: Amount; readonly fee: Amount; readonly channels: number };

const DEVICE_TRANSFERS = 'AND (f.name = @wallet OR a.name = @wallet OR c.payer = @device OR c.payee = @device)';
const DEVICE_SETTLEMENTS = `AND EXISTS (SELECT 1 FROM transfers t JOIN channels c ON c.num = t.channel
  WHERE t.settlement = s.id AND (c.payer = @device OR c.payee = @device))`;

interface RawTransfer { created_at_ms: bigint; id: string; kind: string; from_name: string; to_name: string; amount: bigint; channel: Buffer | null; settlement: string | null }
interface RawSettlement { created_at_ms: bigint; id: string; reason: string; amount: bigint; fee: bigint; channels: bigint }

function transfersIn(db: Db, query: ExportQuery): ExportRecord[] {
  const sql = `SELECT t.created_at_ms, t.id, t.kind, f.name AS from_name, a.name AS to_name, t.amount, c.id AS channel, t.settlement
    FROM transfers t JOIN accounts f ON f.id = t.from_account JOIN accounts a ON a.id = t.to_account
    LEFT JOIN channels c ON c.num = t.channel
    WHERE t.created_at_ms >= @fromMs AND t.created_at_ms < @toMs ${query.device === null ? '' : DEVICE_TRANSFERS}
    ORDER BY t.created_at_ms, t.rowid LIMIT @limit`;
  const rows = statement(db, sql).all(parameters(query)) as RawTransfer[];
  return rows.map((row) => ({
    record: 'transfer', atMs: Number(row.created_at_ms), id: row.id, kind: row.kind, from: row.from_name, to: row.to_name,
    amount: row.amount as Amount, channel: row.channel === null ? null : new Uint8Array(row.channel), settlement: row.settlement,
  }));
}

function settlementsIn(db: Db, query: ExportQuery): ExportRecord[] {
  const sql = `SELECT s.created_at_ms, s.id, s.reason, s.amount, s.fee, s.channels FROM settlements s
    WHERE s.created_at_ms >= @fromMs AND s.created_at_ms < @toMs ${query.device === null ? '' : DEVICE_SETTLEMENTS}
    ORDER BY s.created_at_ms, s.rowid LIMIT @limit`;
  const rows = statement(db, sql).all(parameters(query)) as RawSettlement[];
  return rows.map((row) => ({ record: 'settlement', atMs: Number(row.created_at_ms), id: row.id, kind: row.reason, amount: row.amount as Amount, fee: row.fee as Amount, channels: Number(row.channels) }));
}

function parameters(query: ExportQuery): Record<string, unknown> {
  const base = { fromMs: BigInt(query.fromMs), toMs: BigInt(query.toMs), limit: BigInt(query.limit) };
  return query.device === null ? base : { ...base, device: query.device, wallet: walletAccount(query.device) };
}

/**
 * Transfers and settlements in time order (at one instant, a settlement after its transfers).
 * Each list is cut at `limit`: a caller that gets more than `limit` rows in all knows the range
 * held more than it may answer.
 */
export function exportRecords(db: Db, query: ExportQuery): ExportRecord[] {
  return db.transaction(() => {
    const records = [...transfersIn(db, query), ...settlementsIn(db, query)];
    const order = (record: ExportRecord) => (record.record === 'transfer' ? 0 : 1);
    return records.sort((a, b) => a.atMs - b.atMs || order(a) - order(b));
  }).deferred();
}
