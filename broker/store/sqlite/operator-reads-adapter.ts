// The operator reads port over a SQLite ledger (broker/store/operator-reads.ts): the queries the
// operator surface always ran, each answered as an already-settled promise.
import type { Db } from './open-database.js';
import type { OperatorReads } from '../operator-reads.js';
import { auditLedger } from './audit.js';
import { getChannel, listChannels, listChannelsOf } from './channels.js';
import { channelRoleCounts, recentSettlementTransfers, recentVouchers } from './device-activity.js';
import { channelEvidence } from './evidence.js';
import { exportRecords } from './export-rows.js';
import { devicesPage, deviceWithBalance, getSettlement, ledgerFlows, ledgerTotals, walletsPage } from './operator-reads.js';
import { summaryCounts } from './operator-summary.js';
import { readRestoreRecord } from './restore-record.js';
import { listSettlements, settlementLines } from './settle.js';

export function sqliteOperatorReads(db: Db): OperatorReads {
  return {
    devicesPage: async (limit, offset) => devicesPage(db, limit, offset),
    device: async (id) => deviceWithBalance(db, id),
    walletsPage: async (limit, offset) => walletsPage(db, limit, offset),
    channelsPage: async (limit, offset) => listChannels(db, limit, offset),
    channel: async (id) => getChannel(db, id),
    channelsOf: async (device, limit) => listChannelsOf(db, device, limit),
    channelRoleCounts: async (device) => channelRoleCounts(db, device),
    recentVouchers: async (channels, limit) => recentVouchers(db, channels, limit),
    recentSettlementTransfers: async (channels, limit) => recentSettlementTransfers(db, channels, limit),
    channelEvidence: async (id) => channelEvidence(db, id),
    settlementsPage: async (limit, offset) => listSettlements(db, limit, offset),
    settlement: async (id) => getSettlement(db, id),
    settlementLines: async (id) => settlementLines(db, id),
    summaryCounts: async () => summaryCounts(db),
    ledgerTotals: async () => ledgerTotals(db),
    ledgerFlows: async () => ledgerFlows(db),
    exportRecords: async (query) => exportRecords(db, query),
    audit: async (options) => auditLedger(db, options),
    restoreRecord: async () => readRestoreRecord(db),
  };
}
