// CLI views and admin writes straight on the data directory's SQLite file (WAL: safe while the
// broker runs).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../../cli/command.js';
import { pageOf } from '../http/paging.js';
import { viewChannel, viewDevice, viewSettlementDetail, viewWallet } from '../http/resource-views.js';
import { listChannels } from '../../store/sqlite/channels.js';
import { DATABASE_FILE, openDatabase, type Db } from '../../store/sqlite/open-database.js';
import { ledgerCurrency } from '../../store/sqlite/ledger-currency.js';
import { devicesPage, walletsPage } from '../../store/sqlite/operator-reads.js';
import { listSettlements, settlementLines } from '../../store/sqlite/settle.js';
import type { ViewSource } from './view-source-types.js';

const NOBODY: ReadonlySet<string> = new Set();

/** A mistyped --data must not quietly start a new, empty ledger beside the real one. */
export function requireLedger(dataDir: string): void {
  if (!existsSync(join(dataDir, DATABASE_FILE))) throw new UsageError(`no mqpay ledger in ${dataDir} (check --data; to start a new one: mqpay ledger init --data ${dataDir}, or --init)`);
}

/**
 * Opens the ledger (refusing a directory without one unless `create`), uses it, closes it.
 * `currency`: what a new ledger gets, or what an existing one must keep [docs/DESIGN.md rule 13].
 */
export function withLedger<T>(dataDir: string, create: boolean, use: (db: Db) => T, options: { currency?: string } = {}): T {
  if (!create) requireLedger(dataDir);
  const db = openDatabase(dataDir, options);
  try {
    return use(db);
  } finally {
    db.close();
  }
}

export function dataSource(dataDir: string): ViewSource {
  requireLedger(dataDir);
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
