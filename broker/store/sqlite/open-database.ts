// Opens (and migrates) the broker's SQLite ledger in its data directory.
import type Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openSqlite } from '../../../sqlite/open.js';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;
export const DATABASE_FILE = 'mqpay.db';
export { BUSY_TIMEOUT_MS } from '../../../sqlite/open.js';

/** `file`: another file than the directory's ledger (a restore's copy before it is renamed into place). */
export function openDatabase(dataDir: string, options: { readonly?: boolean; file?: string } = {}): Db {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return openSqlite(options.file ?? join(dataDir, DATABASE_FILE), { migrations: MIGRATIONS, what: 'broker database', readonly: options.readonly ?? false });
}
