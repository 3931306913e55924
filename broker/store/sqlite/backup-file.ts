// Online backups of the ledger through SQLite's backup API (better-sqlite3's `db.backup()`),
// never a file copy: a copy of a live WAL database can tear between the file and its WAL. The
// API copies pages a step at a time, each step its own turn of the event loop, so a broker
// taking a backup keeps serving; writes through the same connection reach the copy as they
// happen. The copy is then checked (PRAGMA integrity_check and the ledger audit), stamped with
// when its snapshot began, switched to a single file (journal_mode DELETE), fsynced and renamed
// into place. It also carries the service key, without which restored channels' certificates
// could not be checked: a backup file is as secret as the data directory
// [docs/DESIGN.md "Backups and restore"].
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { toHex } from '../../../shared/hex.js';
import { auditLedger, type AuditCheck } from './audit.js';
import { renameDurably } from './durable-file.js';
import type { Db } from './open-database.js';
import { backupStartedAtMs, stampBackup } from './restore-record.js';
import { statement } from '../../../sqlite/statement.js';
import { MIGRATIONS } from './migrations.js';

export interface BackupWritten {
  readonly file: string;
  readonly bytes: number;
  readonly startedAtMs: number;
  readonly checks: readonly AuditCheck[];
}

export interface BackupOptions {
  /** When the snapshot begins, from the caller's clock (the broker's injected one). */
  readonly nowMs: number;
  /** Pages copied per step; each step is one turn of the event loop. */
  readonly pagesPerStep: number;
  /** The service key's seed, carried in the copy (restored into the new data directory). */
  readonly serviceSecretKey: Uint8Array;
}

/** The checks a backup must pass: SQLite's own integrity check, then the ledger audit. */
export function checkLedgerCopy(db: Db): AuditCheck[] {
  const rows = db.pragma('integrity_check') as { integrity_check: string }[];
  const integrity = rows.map((row) => row.integrity_check);
  const intact = integrity.length === 1 && integrity[0] === 'ok';
  const first: AuditCheck = { name: 'SQLite integrity check', ok: intact, detail: intact ? 'ok' : integrity.slice(0, 5).join('; ') };
  // An older schema (a backup made by an older mqpay) is audited after its migration, on the restored copy.
  const current = Number(db.pragma('user_version', { simple: true })) === MIGRATIONS.length;
  return intact && current ? [first, ...auditLedger(db)] : [first];
}

export function failedChecks(checks: readonly AuditCheck[]): string {
  return checks.filter((check) => !check.ok).map((check) => `${check.name}: ${check.detail}`).join('; ');
}

export async function writeBackup(db: Db, file: string, options: BackupOptions): Promise<BackupWritten> {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const partial = join(dirname(file), `.${basename(file)}.${toHex(randomBytes(6))}.partial`);
  try {
    await db.backup(partial, { progress: () => options.pagesPerStep });
    chmodSync(partial, 0o600); // it holds the service key
    const checks = finishCopy(partial, options);
    const failed = failedChecks(checks);
    if (failed !== '') throw new Error(`the backup copy failed its checks: ${failed}`);
    renameDurably(partial, file);
    return { file, bytes: statSync(file).size, startedAtMs: options.nowMs, checks };
  } finally {
    if (existsSync(partial)) unlinkSync(partial);
  }
}

/** Stamps the copy, makes it one self-contained file, and checks it. */
function finishCopy(path: string, options: BackupOptions): AuditCheck[] {
  const copy = new Database(path);
  try {
    copy.defaultSafeIntegers(true);
    copy.pragma('journal_mode = DELETE');
    copy.transaction(() => {
      stampBackup(copy, options.nowMs);
      statement(copy, "INSERT INTO meta (key, value) VALUES ('backup_service_key', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(toHex(options.serviceSecretKey));
    }).immediate();
    return checkLedgerCopy(copy);
  } finally {
    copy.close();
  }
}

export interface BackupFacts {
  /** Null: the file was not made by `mqpay ledger backup`. */
  readonly startedAtMs: number | null;
  readonly sha256: string;
  readonly checks: readonly AuditCheck[];
  readonly serviceKeyHex: string | null;
}

/** Reads and checks a backup file without changing it. */
export function inspectBackup(file: string): BackupFacts {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.defaultSafeIntegers(true);
    const key = statement(db, "SELECT value FROM meta WHERE key = 'backup_service_key'").get() as { value: string } | undefined;
    return { startedAtMs: backupStartedAtMs(db), sha256: sha256Of(file), checks: checkLedgerCopy(db), serviceKeyHex: key?.value ?? null };
  } finally {
    db.close();
  }
}

function sha256Of(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}
