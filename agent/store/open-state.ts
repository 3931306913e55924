// Opens (and migrates) the agent's SQLite file. WAL so `mqpay agent status` can read while the
// agent writes; synchronous=FULL because a voucher must be on disk before it is published, or
// a power cut could make the agent sign a second total for a seq the service already has;
// safeIntegers so every INTEGER comes back as a bigint and no amount passes through a float.
import Database from 'better-sqlite3';
import { AGENT_MIGRATIONS } from './migrations.js';

export type StateDb = Database.Database;
/** How long a writer waits for another process's lock (status reading while the agent runs). */
export const STATE_BUSY_TIMEOUT_MS = 5_000;
/**
 * SQLite page cache of the agent's connection. The hot rows (open channels, pending vouchers)
 * are a few pages; SQLite's default 2 MB is memory a small device can use better.
 */
export const STATE_CACHE_KIB = 512;

export function openState(path: string, options: { readonly?: boolean } = {}): StateDb {
  const readonly = options.readonly ?? false;
  const db = new Database(path, { readonly, fileMustExist: readonly });
  db.defaultSafeIntegers(true);
  db.pragma(`busy_timeout = ${STATE_BUSY_TIMEOUT_MS}`);
  db.pragma(`cache_size = -${STATE_CACHE_KIB}`);
  if (!readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  }
  return db;
}

function migrate(db: StateDb): void {
  const current = Number(db.pragma('user_version', { simple: true }));
  if (current > AGENT_MIGRATIONS.length) {
    throw new Error(`agent state schema version ${current} is newer than this mqpay (${AGENT_MIGRATIONS.length})`);
  }
  for (let version = current; version < AGENT_MIGRATIONS.length; version++) {
    const sql = AGENT_MIGRATIONS[version] as string;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
