// The operator's per-device and per-channel reads over the PostgreSQL ledger (as
// sqlite/device-activity.ts, evidence.ts, export-rows.ts): a device's channels by role and its
// newest vouchers and settlement transfers (at most `limit` read per channel), a channel's
// evidence, and the bookkeeping export in one snapshot (REPEATABLE READ). Transfers have no rowid
// here: those of one millisecond order by id.
import type pg from 'pg';
import type { Amount } from '../../../shared/amount.js';
import { walletAccount } from '../accounts.js';
import type { OperatorReads } from '../operator-reads.js';
import type { ChannelSettlementTransfer, ChannelVoucher } from '../sqlite/device-activity.js';
import { EVIDENCE_CHANNEL_COLUMNS, evidenceOf, type EvidenceCertificateRow, type EvidenceChannelRow, type EvidenceDoubleSignRow, type EvidenceSettledRow } from '../sqlite/evidence.js';
import type { ExportQuery, ExportRecord } from '../sqlite/export-rows.js';
import { rowOf, rowsOf, type Queryable } from './pool.js';

type ActivityReads = Pick<OperatorReads, 'channelRoleCounts' | 'recentVouchers' | 'recentSettlementTransfers' | 'channelEvidence' | 'exportRecords'>;

/** The newest `limit` rows over the channels: at most `limit` per channel, merged by time. */
async function newestOver<R extends pg.QueryResultRow, T>(q: Queryable, sql: string, channels: readonly bigint[], limit: number, item: (channel: bigint, row: R) => T & { readonly atMs: number }): Promise<T[]> {
  const found: (T & { readonly atMs: number })[] = [];
  for (const channel of channels) for (const row of await rowsOf<R>(q, sql, [channel, limit])) found.push(item(channel, row));
  return found.sort((a, b) => b.atMs - a.atMs).slice(0, limit);
}

function recentVouchers(q: Queryable, channels: readonly bigint[], limit: number): Promise<ChannelVoucher[]> {
  return newestOver(q, 'SELECT seq, total, accepted_at_ms FROM vouchers WHERE channel = $1 ORDER BY seq DESC LIMIT $2', channels, limit,
    (channel, row: { seq: bigint; total: bigint; accepted_at_ms: bigint }) => ({ channel, seq: row.seq, total: row.total as Amount, acceptedAtMs: Number(row.accepted_at_ms), atMs: Number(row.accepted_at_ms) }));
}

function recentSettlementTransfers(q: Queryable, channels: readonly bigint[], limit: number): Promise<ChannelSettlementTransfer[]> {
  return newestOver(q, "SELECT settlement, amount, created_at_ms FROM transfers WHERE channel = $1 AND kind = 'settle' ORDER BY created_at_ms DESC, id DESC LIMIT $2", channels, limit,
    (channel, row: { settlement: string; amount: bigint; created_at_ms: bigint }) => ({ channel, settlement: row.settlement, amount: row.amount as Amount, createdAtMs: Number(row.created_at_ms), atMs: Number(row.created_at_ms) }));
}

async function channelEvidence(q: Queryable, id: Uint8Array) {
  const row = await rowOf<EvidenceChannelRow>(q, `SELECT ${EVIDENCE_CHANNEL_COLUMNS} $1`, [id]);
  if (row === null) return null;
  const settled = await rowsOf<EvidenceSettledRow>(q, 'SELECT settlement, seq, total, revision, voucher, signature FROM settlement_vouchers WHERE channel = $1 ORDER BY seq', [row.num]);
  const earlier = await rowsOf<EvidenceCertificateRow>(q, 'SELECT revision, certificate, signature FROM certificate_history WHERE channel = $1 ORDER BY revision', [row.num]);
  const doubles = await rowsOf<EvidenceDoubleSignRow>(q, 'SELECT seq, accepted_total, conflicting_total, voucher, signature FROM double_signs WHERE channel = $1 ORDER BY seq, conflicting_total', [row.id]);
  return evidenceOf(row, settled, earlier, doubles);
}

const DEVICE_TRANSFERS = 'AND (f.name = $4 OR a.name = $4 OR c.payer = $5 OR c.payee = $5)';
const DEVICE_SETTLEMENTS = `AND EXISTS (SELECT 1 FROM transfers t JOIN channels c ON c.num = t.channel
  WHERE t.settlement = s.id AND (c.payer = $4 OR c.payee = $4))`;

async function transfersIn(q: Queryable, query: ExportQuery): Promise<ExportRecord[]> {
  const sql = `SELECT t.created_at_ms, t.id, t.kind, f.name AS from_name, a.name AS to_name, t.amount, c.id AS channel, t.settlement
    FROM transfers t JOIN accounts f ON f.id = t.from_account JOIN accounts a ON a.id = t.to_account
    LEFT JOIN channels c ON c.num = t.channel
    WHERE t.created_at_ms >= $1 AND t.created_at_ms < $2 ${query.device === null ? '' : DEVICE_TRANSFERS}
    ORDER BY t.created_at_ms, t.id COLLATE "C" LIMIT $3`;
  const base = [query.fromMs, query.toMs, query.limit];
  const rows = await rowsOf<{ created_at_ms: bigint; id: string; kind: string; from_name: string; to_name: string; amount: bigint; channel: Buffer | null; settlement: string | null }>(
    q, sql, query.device === null ? base : [...base, walletAccount(query.device), query.device]);
  return rows.map((row) => ({
    record: 'transfer', atMs: Number(row.created_at_ms), id: row.id, kind: row.kind, from: row.from_name, to: row.to_name,
    amount: row.amount as Amount, channel: row.channel === null ? null : new Uint8Array(row.channel), settlement: row.settlement,
  }));
}

async function settlementsIn(q: Queryable, query: ExportQuery): Promise<ExportRecord[]> {
  const sql = `SELECT s.created_at_ms, s.id, s.reason, s.amount, s.fee, s.channels FROM settlements s
    WHERE s.created_at_ms >= $1 AND s.created_at_ms < $2 ${query.device === null ? '' : DEVICE_SETTLEMENTS}
    ORDER BY s.created_at_ms, s.position LIMIT $3`;
  const base = [query.fromMs, query.toMs, query.limit];
  const rows = await rowsOf<{ created_at_ms: bigint; id: string; reason: string; amount: bigint; fee: bigint; channels: number }>(q, sql, query.device === null ? base : [...base, query.device]);
  return rows.map((row) => ({ record: 'settlement', atMs: Number(row.created_at_ms), id: row.id, kind: row.reason, amount: row.amount as Amount, fee: row.fee as Amount, channels: Number(row.channels) }));
}

/** Transfers and settlements in time order (at one instant, a settlement after its transfers), from one snapshot. */
async function exportRecords(pool: pg.Pool, query: ExportQuery): Promise<ExportRecord[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const records = [...(await transfersIn(client, query)), ...(await settlementsIn(client, query))];
    await client.query('COMMIT');
    const order = (record: ExportRecord) => (record.record === 'transfer' ? 0 : 1);
    return records.sort((a, b) => a.atMs - b.atMs || order(a) - order(b));
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export function postgresActivityReads(pool: pg.Pool, q: Queryable): ActivityReads {
  return {
    channelRoleCounts: async (device) => {
      const row = await rowOf<{ payer: bigint; payee: bigint }>(q, 'SELECT count(*) FILTER (WHERE payer = $1) AS payer, count(*) FILTER (WHERE payee = $1) AS payee FROM channels WHERE payer = $1 OR payee = $1', [device]);
      return { asPayer: Number(row?.payer ?? 0n), asPayee: Number(row?.payee ?? 0n) };
    },
    recentVouchers: (channels, limit) => recentVouchers(q, channels, limit),
    recentSettlementTransfers: (channels, limit) => recentSettlementTransfers(q, channels, limit),
    channelEvidence: (id) => channelEvidence(q, id),
    exportRecords: (query) => exportRecords(pool, query),
  };
}
