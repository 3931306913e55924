// The operator reads port: what the operator surface (HTTP API, dashboard, CLI views over --url)
// reads, whichever the ledger: SQLite (sqlite/operator-reads-adapter.ts) or PostgreSQL
// (postgres/operator-reads.ts) [issue 15]. Like the store port it is async (a network database
// is); every list is a bounded page, every total an aggregate in SQL. Writes never go through
// here: they go through the settlement service and its store port [docs/DESIGN.md "Store port"].
import type { Amount } from '../../shared/amount.js';
import type { ChannelRow, RestoreRecordRow } from './port.js';
import type { AuditCheck } from './sqlite/audit.js';
import type { ChannelRoleCounts, ChannelSettlementTransfer, ChannelVoucher } from './sqlite/device-activity.js';
import type { ChannelEvidence } from './sqlite/evidence.js';
import type { ExportQuery, ExportRecord } from './sqlite/export-rows.js';
import type { DeviceWithBalance, KindTotal, WalletRow } from './sqlite/operator-reads.js';
import type { SummaryCounts } from './sqlite/operator-summary.js';
import type { SettlementRow } from './sqlite/settle.js';
import type { AccountKind } from './accounts.js';

export interface OperatorReads {
  /** Devices in id order, `limit` from `offset`, with their wallet balance. */
  devicesPage(limit: number, offset: number): Promise<DeviceWithBalance[]>;
  device(id: string): Promise<DeviceWithBalance | null>;
  /** Wallets in device order. */
  walletsPage(limit: number, offset: number): Promise<WalletRow[]>;
  /** Channels newest first. */
  channelsPage(limit: number, offset: number): Promise<ChannelRow[]>;
  channel(id: Uint8Array): Promise<ChannelRow | null>;
  /** The device's channels (payer or payee), newest first, at most `limit`. */
  channelsOf(device: string, limit: number): Promise<ChannelRow[]>;
  channelRoleCounts(device: string): Promise<ChannelRoleCounts>;
  /** The newest `limit` vouchers over the given channels (by channel number). */
  recentVouchers(channels: readonly bigint[], limit: number): Promise<ChannelVoucher[]>;
  /** The newest `limit` settlement transfers (escrow to payee) over the given channels. */
  recentSettlementTransfers(channels: readonly bigint[], limit: number): Promise<ChannelSettlementTransfer[]>;
  /** The channel's certificate, latest and settled vouchers and double-signs (null: no such channel). */
  channelEvidence(id: Uint8Array): Promise<ChannelEvidence | null>;
  /** Settlements newest first. */
  settlementsPage(limit: number, offset: number): Promise<SettlementRow[]>;
  settlement(id: string): Promise<SettlementRow | null>;
  /** One line per credited account, in account-name order. */
  settlementLines(id: string): Promise<{ account: string; amount: Amount }[]>;
  summaryCounts(): Promise<SummaryCounts>;
  ledgerTotals(): Promise<Record<AccountKind, KindTotal>>;
  /** Money in (fund transfers) and out (payout transfers), all time, in micro-units. */
  ledgerFlows(): Promise<{ funded: bigint; paidOut: bigint }>;
  /** The bookkeeping export's records in the query's range (at most its rowsMax + 1). */
  exportRecords(query: ExportQuery): Promise<ExportRecord[]>;
  /** The full audit of `mqpay ledger check`. */
  audit(options: { verifySignatures?: boolean }): Promise<AuditCheck[]>;
  restoreRecord(): Promise<RestoreRecordRow | null>;
}
