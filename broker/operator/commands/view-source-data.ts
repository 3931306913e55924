// CLI views straight from the data directory's SQLite file (WAL: safe while the broker runs).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../../cli/command.js';
import { pageOf } from '../http/paging.js';
import { viewChannel, viewDevice, viewSettlementDetail, viewWallet } from '../http/resource-views.js';
import { listChannels } from '../../store/sqlite/channels.js';
import { DATABASE_FILE, openDatabase } from '../../store/sqlite/open-database.js';
import { ledgerCurrency } from '../../store/sqlite/ledger-currency.js';
import { devicesPage, walletsPage } from '../../store/sqlite/operator-reads.js';
import { listSettlements, settlementLines } from '../../store/sqlite/settle.js';
import type { ViewSource } from './view-source-types.js';

const NOBODY: ReadonlySet<string> = new Set();

export function dataSource(dataDir: string): ViewSource {
  if (!existsSync(join(dataDir, DATABASE_FILE))) throw new UsageError(`no mqpay ledger in ${dataDir} (start the broker once, or add a device)`);
  const db = openDatabase(dataDir);
  const currency = ledgerCurrency(db);
  return {
    devices: async (page) => pageOf(devicesPage(db, page.limit + 1, page.offset), page, (row) => ({ ...viewDevice(row, NOBODY, currency), online: null })),
    wallets: async (page) => pageOf(walletsPage(db, page.limit + 1, page.offset), page, (row) => viewWallet(row, currency)),
    channels: async (page) => pageOf(listChannels(db, page.limit + 1, page.offset), page, (row) => viewChannel(row, currency)),
    settlements: async (page) => pageOf(listSettlements(db, page.limit + 1, page.offset), page, (row) => viewSettlementDetail(row, settlementLines(db, row.id), currency)),
    close: () => db.close(),
  };
}
