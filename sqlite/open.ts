// Opens an mqpay SQLite file the one way both the broker and the agent need it:
// - WAL, so a reader (an admin command, `agent status`) works while the owner writes;
// - synchronous=FULL, because what is acknowledged (a voucher, a signed seq) must survive a
//   power cut;
// - safeIntegers, so every INTEGER comes back as a bigint and no amount passes through a float;
// - foreign keys on, and the versioned migrations applied in order (`user_version`).
import Database from 'better-sqlite3';

/** How long a writer waits for another process's write lock. */
export const BUSY_TIMEOUT_MS = 5_000;

export interface OpenOptions {
  /** Schema steps; step i takes the file from version i to i + 1. Never edit a shipped one. */
  readonly migrations: readonly string[];
  /** Names the file in errors, e.g. "broker database". */
  readonly what: string;
  readonly readonly?: boolean;
  /** SQLite page cache in KiB; when absent, better-sqlite3's build default (16,000 KiB). */
  readonly cacheKib?: number;
}

export function openSqlite(path: string, options: OpenOptions): Database.Database {
  const readonly = options.readonly ?? false;
  const db = new Database(path, { readonly, fileMustExist: readonly });
  db.defaultSafeIntegers(true);
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  if (options.cacheKib !== undefined) db.pragma(`cache_size = -${options.cacheKib}`);
  if (!readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, options);
  }
  return db;
}

function migrate(db: Database.Database, options: OpenOptions): void {
  const current = Number(db.pragma('user_version', { simple: true }));
  const latest = options.migrations.length;
  if (current > latest) throw new Error(`${options.what} schema version ${current} is newer than this mqpay (${latest})`);
  for (let version = current; version < latest; version++) {
    const sql = options.migrations[version] as string;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
