// Restoring a ledger from a backup file into a data directory that has none. The backup is
// checked first (integrity and audit) and never changed; a copy of it is migrated if it is
// older, checked again, given its restore record (meta: when, from which file and snapshot),
// fsynced and renamed into place. The service key the backup carries becomes the directory's
// service.key, so certificates the devices hold still verify. A directory that already holds a
// ledger (the broker's, live or not) is refused: a restore never overwrites.
import { copyFileSync, existsSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex, toHex } from '../../../shared/hex.js';
import { SECRET_KEY_BYTES } from '../../../shared/limits.js';
import { defaultBackend } from '../../../shared/crypto.js';
import { SERVICE_KEY_FILE, SERVICE_PUBLIC_KEY_FILE } from '../../service-key.js';
import { checkLedgerCopy, failedChecks, inspectBackup, type BackupFacts } from './backup-file.js';
import { fsyncPath, renameDurably } from './durable-file.js';
import { DATABASE_FILE, openDatabase } from './open-database.js';
import { writeRestoreRecord } from './restore-record.js';
import { statement } from '../../../sqlite/statement.js';

export class RestoreRefused extends Error {}

export interface Restored {
  readonly backup: BackupFacts & { readonly startedAtMs: number };
  readonly restoredAtMs: number;
}

/** Files whose presence means the directory holds a ledger (or one in use: its WAL). */
const LEDGER_FILES = [DATABASE_FILE, `${DATABASE_FILE}-wal`, SERVICE_KEY_FILE];

export function restoreLedger(input: { from: string; dataDir: string; nowMs: number }): Restored {
  const present = LEDGER_FILES.filter((name) => existsSync(join(input.dataDir, name)));
  if (present.length > 0) throw new RestoreRefused(`${input.dataDir} already holds a ledger (${present.join(', ')}); a restore never overwrites one: stop its broker and move the directory aside, or restore into a new one`);
  if (!existsSync(input.from)) throw new RestoreRefused(`no backup file ${input.from}`);
  const facts = inspectBackup(input.from);
  if (facts.startedAtMs === null || facts.serviceKeyHex === null) throw new RestoreRefused(`${input.from} is not a backup made by mqpay ledger backup (no backup stamp or service key)`);
  const failed = failedChecks(facts.checks);
  if (failed !== '') throw new RestoreRefused(`the backup fails its checks, nothing restored: ${failed}`);
  mkdirSync(input.dataDir, { recursive: true, mode: 0o700 });
  const partial = join(input.dataDir, `.${DATABASE_FILE}.restoring`);
  try {
    copyFileSync(input.from, partial); // a closed, checked backup file: a plain copy is whole
    finishRestoredCopy(input.dataDir, partial, { restoredAtMs: input.nowMs, from: input.from, backupStartedAtMs: facts.startedAtMs, backupSha256: facts.sha256 });
    writeServiceKey(input.dataDir, facts.serviceKeyHex);
    renameDurably(partial, join(input.dataDir, DATABASE_FILE));
  } finally {
    for (const leftover of [partial, `${partial}-wal`, `${partial}-shm`]) if (existsSync(leftover)) unlinkSync(leftover);
  }
  return { backup: { ...facts, startedAtMs: facts.startedAtMs }, restoredAtMs: input.nowMs };
}

/** Migrates the copy to this mqpay's schema, audits it, and records the restore in it. */
function finishRestoredCopy(dataDir: string, partial: string, record: Parameters<typeof writeRestoreRecord>[1]): void {
  const db = openDatabase(dataDir, { file: partial });
  try {
    const failed = failedChecks(checkLedgerCopy(db));
    if (failed !== '') throw new RestoreRefused(`the restored copy fails its checks, nothing restored: ${failed}`);
    writeRestoreRecord(db, record);
    // The key lives in service.key again; the ledger itself does not keep secrets.
    statement(db, "DELETE FROM meta WHERE key = 'backup_service_key'").run();
  } finally {
    db.close();
  }
  fsyncPath(partial);
}

function writeServiceKey(dataDir: string, secretHex: string): void {
  const secretKey = fromHex(secretHex, SECRET_KEY_BYTES);
  writeFileSync(join(dataDir, SERVICE_KEY_FILE), `${secretHex}\n`, { mode: 0o600, flag: 'wx' });
  writeFileSync(join(dataDir, SERVICE_PUBLIC_KEY_FILE), `${toHex(defaultBackend.publicKeyOf(secretKey))}\n`);
  fsyncPath(join(dataDir, SERVICE_KEY_FILE));
}
