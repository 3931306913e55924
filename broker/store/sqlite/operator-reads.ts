// Read-only queries for the operator surface (HTTP API, metrics, CLI views): bounded pages and
// aggregates. Every list is paged (LIMIT/OFFSET on an indexed order) so a fleet of 100k devices
// never turns one request into one 100k-row answer.
import type { Amount } from '../../../shared/amount.js';
import { AccountKind } from '../accounts.js';
import type { Db } from './open-database.js';
import type { SettlementRow } from './settle.js';
import type { SettlementReason } from '../port.js';
import { statement } from '../../../sqlite/statement.js';

export interface DeviceWithBalance {
  readonly id: string;
  readonly publicKey: Uint8Array;
  readonly status: 'active' | 'disabled';
  readonly createdAtMs: number;
  /** The device's wallet balance (every enrolled device has a wallet). */
  readonly balance: Amount;
}

interface RawDevice { id: string; public_key: Buffer; status: 'active' | 'disabled'; created_at_ms: bigint; balance: bigint | null }

const SELECT_DEVICE = `SELECT d.id, d.public_key, d.status, d.created_at_ms, a.balance
  FROM devices d LEFT JOIN accounts a ON a.name = 'wallet:' || d.id`;

function toDevice(row: RawDevice): DeviceWithBalance {
  return { id: row.id, publicKey: new Uint8Array(row.public_key), status: row.status, createdAtMs: Number(row.created_at_ms), balance: (row.balance ?? 0n) as Amount };
}

/** Devices in id order, `limit` from `offset`. */
export function devicesPage(db: Db, limit: number, offset: number): DeviceWithBalance[] {
  return (statement(db, `${SELECT_DEVICE} ORDER BY d.id LIMIT ? OFFSET ?`).all(BigInt(limit), BigInt(offset)) as RawDevice[]).map(toDevice);
}

export function deviceWithBalance(db: Db, id: string): DeviceWithBalance | null {
  const row = statement(db, `${SELECT_DEVICE} WHERE d.id = ?`).get(id) as RawDevice | undefined;
  return row === undefined ? null : toDevice(row);
}

export interface WalletRow {
  readonly device: string;
  readonly balance: Amount;
}

const WALLET_PREFIX = 'wallet:';

/** Wallets in device order. */
export function walletsPage(db: Db, limit: number, offset: number): WalletRow[] {
  const rows = statement(db, "SELECT name, balance FROM accounts WHERE kind = 'wallet' ORDER BY name LIMIT ? OFFSET ?").all(BigInt(limit), BigInt(offset)) as { name: string; balance: bigint }[];
  return rows.map((row) => ({ device: row.name.slice(WALLET_PREFIX.length), balance: row.balance as Amount }));
}

export interface KindTotal {
  readonly accounts: number;
  /** Sum of balances in micro-units; negative only for the external account. */
  readonly balance: bigint;
}

/** Count and balance sum per account kind (kinds without accounts are zero). */
export function ledgerTotals(db: Db): Record<AccountKind, KindTotal> {
  const rows = statement(db, 'SELECT kind, count(*) AS n, COALESCE(SUM(balance), 0) AS total FROM accounts GROUP BY kind').all() as { kind: AccountKind; n: bigint; total: bigint }[];
  const totals: Record<AccountKind, KindTotal> = { wallet: { accounts: 0, balance: 0n }, escrow: { accounts: 0, balance: 0n }, fees: { accounts: 0, balance: 0n }, external: { accounts: 0, balance: 0n } };
  for (const row of rows) totals[row.kind] = { accounts: Number(row.n), balance: row.total };
  return totals;
}

/** Money in (fund transfers) and out (payout transfers) of the ledger, all time, in micro-units. */
export function ledgerFlows(db: Db): { funded: bigint; paidOut: bigint } {
  const rows = statement(db, "SELECT kind, COALESCE(SUM(amount), 0) AS total FROM transfers WHERE kind IN ('fund', 'payout') GROUP BY kind").all() as { kind: 'fund' | 'payout'; total: bigint }[];
  const flows = { funded: 0n, paidOut: 0n };
  for (const row of rows) flows[row.kind === 'fund' ? 'funded' : 'paidOut'] = row.total;
  return flows;
}

export function deviceCounts(db: Db): { active: number; disabled: number } {
  const rows = statement(db, 'SELECT status, count(*) AS n FROM devices GROUP BY status').all() as { status: 'active' | 'disabled'; n: bigint }[];
  const counts = { active: 0, disabled: 0 };
  for (const row of rows) counts[row.status] = Number(row.n);
  return counts;
}

export function openChannelCount(db: Db): number {
  return Number((statement(db, "SELECT count(*) AS n FROM channels WHERE state = 'open'").get() as { n: bigint }).n);
}

type RawSettlement = { seq: bigint; id: string; reason: SettlementReason; channels: bigint; amount: bigint; fee: bigint; created_at_ms: bigint };
const SELECT_SETTLEMENT = 'SELECT rowid AS seq, id, reason, channels, amount, fee, created_at_ms FROM settlements';

function toSettlement(row: RawSettlement): SettlementRow & { readonly seq: bigint } {
  return { seq: row.seq, id: row.id, reason: row.reason, channels: Number(row.channels), amount: row.amount as Amount, fee: row.fee as Amount, createdAtMs: Number(row.created_at_ms) };
}

export function getSettlement(db: Db, id: string): SettlementRow | null {
  const row = statement(db, `${SELECT_SETTLEMENT} WHERE id = ?`).get(id) as RawSettlement | undefined;
  return row === undefined ? null : toSettlement(row);
}

/** Settlements recorded after insertion sequence `afterSeq`, oldest first (for `--watch`). */
export function settlementsAfter(db: Db, afterSeq: bigint, limit: number): (SettlementRow & { readonly seq: bigint })[] {
  return (statement(db, `${SELECT_SETTLEMENT} WHERE rowid > ? ORDER BY rowid LIMIT ?`).all(afterSeq, BigInt(limit)) as RawSettlement[]).map(toSettlement);
}

export function lastSettlementSeq(db: Db): bigint {
  return (statement(db, 'SELECT COALESCE(MAX(rowid), 0) AS seq FROM settlements').get() as { seq: bigint }).seq;
}

/** A transfer by id, for idempotency checks (was this key used for the same request?). */
export function transferById(db: Db, id: string): { to: string; amount: Amount; kind: string } | null {
  const row = statement(db, 'SELECT a.name AS "to", t.amount, t.kind FROM transfers t JOIN accounts a ON a.id = t.to_account WHERE t.id = ?').get(id) as { to: string; amount: bigint; kind: string } | undefined;
  return row === undefined ? null : { to: row.to, amount: row.amount as Amount, kind: row.kind };
}
