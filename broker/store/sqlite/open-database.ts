// Opens (and migrates) the broker's SQLite ledger in its data directory.
import type Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openSqlite } from '../../../sqlite/open.js';
import { settleLedgerCurrency } from './ledger-currency.js';
import { MIGRATIONS } from './migrations.js';
import { BROKER_PAGE_CACHE_KIB } from '../../limits.js';

export type Db = Database.Database;
export const DATABASE_FILE = 'mqpay.db';
export { BUSY_TIMEOUT_MS } from '../../../sqlite/open.js';

/**
 * `file`: another file than the directory's ledger (a restore's copy before it is renamed into
 * place). `currency`: the ISO 4217 code a new ledger gets (default: DEFAULT_CURRENCY); an
 * existing ledger with another one is CURRENCY_MISMATCH [docs/DESIGN.md rule 13].
 */
export function openDatabase(dataDir: string, options: { readonly?: boolean; file?: string; currency?: string } = {}): Db {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const readonly = options.readonly ?? false;
  const db = openSqlite(options.file ?? join(dataDir, DATABASE_FILE), { migrations: MIGRATIONS, what: 'broker database', readonly, cacheKib: BROKER_PAGE_CACHE_KIB });
  if (readonly) return db;
  try {
    settleLedgerCurrency(db, options.currency);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
