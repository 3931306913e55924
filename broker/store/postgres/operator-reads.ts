// The operator reads port over the PostgreSQL ledger (broker/store/operator-reads.ts): the same
// pages and aggregates as the SQLite adapter's queries (sqlite/operator-reads.ts,
// operator-summary.ts, settle.ts), in PostgreSQL's SQL. Where SQLite orders by rowid,
// settlements order by their `position` identity (the commit order, schema.ts); names order
// byte-wise (COLLATE "C"), as SQLite's do, whatever the database's locale. The device page,
// evidence and export are in operator-activity.ts.
import type pg from 'pg';
import type { Amount } from '../../../shared/amount.js';
import type { AccountKind } from '../accounts.js';
import type { OperatorReads } from '../operator-reads.js';
import type { SettlementReason } from '../port.js';
import type { DeviceWithBalance, KindTotal, WalletRow } from '../sqlite/operator-reads.js';
import type { SummaryCounts } from '../sqlite/operator-summary.js';
import type { SettlementRow } from '../sqlite/settle.js';
import { auditPostgres } from './audit.js';
import { channelsPage, getChannel, listChannelsOf } from './channels.js';
import { readRestoreRecord } from './meta.js';
import { postgresActivityReads } from './operator-activity.js';
import { bytes, preparedOn, rowOf, rowsOf, type Queryable } from './pool.js';

interface RawDevice { id: string; public_key: Buffer; status: 'active' | 'disabled'; created_at_ms: bigint; balance: bigint | null }

const SELECT_DEVICE = `SELECT d.id, d.public_key, d.status, d.created_at_ms, a.balance
  FROM devices d LEFT JOIN accounts a ON a.name = 'wallet:' || d.id`;
const WALLET_PREFIX = 'wallet:';

const toDevice = (row: RawDevice): DeviceWithBalance =>
  ({ id: row.id, publicKey: bytes(row.public_key), status: row.status, createdAtMs: Number(row.created_at_ms), balance: (row.balance ?? 0n) as Amount });

type RawSettlement = { id: string; reason: SettlementReason; channels: number; amount: bigint; fee: bigint; created_at_ms: bigint };
const SELECT_SETTLEMENT = 'SELECT id, reason, channels, amount, fee, created_at_ms FROM settlements';

const toSettlement = (row: RawSettlement): SettlementRow =>
  ({ id: row.id, reason: row.reason, channels: Number(row.channels), amount: row.amount as Amount, fee: row.fee as Amount, createdAtMs: Number(row.created_at_ms) });

async function ledgerTotals(q: Queryable): Promise<Record<AccountKind, KindTotal>> {
  const rows = await rowsOf<{ kind: AccountKind; n: bigint; total: bigint }>(q, 'SELECT kind, count(*) AS n, COALESCE(SUM(balance), 0) AS total FROM accounts GROUP BY kind');
  const totals: Record<AccountKind, KindTotal> = { wallet: { accounts: 0, balance: 0n }, escrow: { accounts: 0, balance: 0n }, fees: { accounts: 0, balance: 0n }, external: { accounts: 0, balance: 0n } };
  for (const row of rows) totals[row.kind] = { accounts: Number(row.n), balance: row.total };
  return totals;
}

async function ledgerFlows(q: Queryable): Promise<{ funded: bigint; paidOut: bigint }> {
  const rows = await rowsOf<{ kind: 'fund' | 'payout'; total: bigint }>(q, "SELECT kind, COALESCE(SUM(amount), 0) AS total FROM transfers WHERE kind IN ('fund', 'payout') GROUP BY kind");
  const flows = { funded: 0n, paidOut: 0n };
  for (const row of rows) flows[row.kind === 'fund' ? 'funded' : 'paidOut'] = row.total;
  return flows;
}

// A channel in its dispute window is 'open' with a deadline [docs/DESIGN.md rule 11].
const CHANNEL_STATES = `SELECT
  count(*) FILTER (WHERE state = 'open' AND closing_deadline_ms IS NULL) AS open,
  count(*) FILTER (WHERE state = 'open' AND closing_deadline_ms IS NOT NULL) AS closing,
  count(*) FILTER (WHERE state = 'closed') AS closed
  FROM channels`;

async function summaryCounts(q: Queryable): Promise<SummaryCounts> {
  const devices = await rowOf<{ enrolled: bigint; disabled: bigint }>(q, "SELECT count(*) AS enrolled, count(*) FILTER (WHERE status = 'disabled') AS disabled FROM devices");
  const channels = await rowOf<{ open: bigint; closing: bigint; closed: bigint }>(q, CHANNEL_STATES);
  const settlements = await rowOf<{ n: bigint; amount: bigint; fee: bigint }>(q, 'SELECT count(*) AS n, COALESCE(SUM(amount), 0) AS amount, COALESCE(SUM(fee), 0) AS fee FROM settlements');
  if (devices === null || channels === null || settlements === null) throw new Error('an aggregate query returns one row');
  return {
    devices: { enrolled: Number(devices.enrolled), disabled: Number(devices.disabled) },
    channels: { open: Number(channels.open), closing: Number(channels.closing), closed: Number(channels.closed) },
    settlements: { count: Number(settlements.n), amount: settlements.amount, fee: settlements.fee },
  };
}

export function postgresOperatorReads(pool: pg.Pool): OperatorReads {
  const q = preparedOn(pool);
  return {
    devicesPage: async (limit, offset) => (await rowsOf<RawDevice>(q, `${SELECT_DEVICE} ORDER BY d.id COLLATE "C" LIMIT $1 OFFSET $2`, [limit, offset])).map(toDevice),
    device: async (id) => {
      const row = await rowOf<RawDevice>(q, `${SELECT_DEVICE} WHERE d.id = $1`, [id]);
      return row === null ? null : toDevice(row);
    },
    walletsPage: async (limit, offset): Promise<WalletRow[]> => {
      const rows = await rowsOf<{ name: string; balance: bigint }>(q, `SELECT name, balance FROM accounts WHERE kind = 'wallet' ORDER BY name COLLATE "C" LIMIT $1 OFFSET $2`, [limit, offset]);
      return rows.map((row) => ({ device: row.name.slice(WALLET_PREFIX.length), balance: row.balance as Amount }));
    },
    channelsPage: (limit, offset) => channelsPage(q, limit, offset),
    channel: (id) => getChannel(q, id),
    channelsOf: (device, limit) => listChannelsOf(q, device, limit),
    settlementsPage: async (limit, offset) =>
      (await rowsOf<RawSettlement>(q, `${SELECT_SETTLEMENT} ORDER BY created_at_ms DESC, position DESC LIMIT $1 OFFSET $2`, [limit, offset])).map(toSettlement),
    settlement: async (id) => {
      const row = await rowOf<RawSettlement>(q, `${SELECT_SETTLEMENT} WHERE id = $1`, [id]);
      return row === null ? null : toSettlement(row);
    },
    settlementLines: async (id) =>
      (await rowsOf<{ account: string; amount: bigint }>(q, 'SELECT a.name AS account, l.amount FROM settlement_lines l JOIN accounts a ON a.id = l.account WHERE l.settlement = $1 ORDER BY a.name COLLATE "C"', [id]))
        .map((row) => ({ account: row.account, amount: row.amount as Amount })),
    summaryCounts: () => summaryCounts(q),
    ledgerTotals: () => ledgerTotals(q),
    ledgerFlows: () => ledgerFlows(q),
    audit: (options) => auditPostgres(pool, options),
    restoreRecord: () => readRestoreRecord(q),
    ...postgresActivityReads(pool, q),
  };
}
