// What a ledger knows of backups and restores, kept in `meta` (key/value, no migration needed):
// - in a backup copy: when the snapshot was started (`backup_started_at_ms`), so the operator
//   journal can list what came after it;
// - in a restored ledger: that it was restored, from which file and which snapshot, and what the
//   devices have handed back since (`healed_*`), for GET /api/ledger/restore.
import type { Amount } from '../../../shared/amount.js';
import { amountOf } from '../../../shared/amount.js';
import { assert } from '../../../shared/errors.js';
import { statement } from '../../../sqlite/statement.js';
import type { Db } from './open-database.js';
import type { RestoreRecordRow } from '../port.js';

export type RestoreRecord = RestoreRecordRow;

const BACKUP_STARTED = 'backup_started_at_ms';
const RESTORE_KEYS = ['restored_at_ms', 'restored_from', 'restored_backup_started_at_ms', 'restored_backup_sha256', 'healed_channels', 'healed_created', 'healed_amount'] as const;

function metaOf(db: Db, key: string): string | null {
  const row = statement(db, 'SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value ?? null;
}

function setMeta(db: Db, key: string, value: string): void {
  const changed = statement(db, 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value).changes;
  assert(changed === 1, 'one meta row written');
}

/** Written into a backup copy (never into the live ledger): when its snapshot began. */
export function stampBackup(db: Db, startedAtMs: number): void {
  setMeta(db, BACKUP_STARTED, String(startedAtMs));
}

/** When the snapshot in this file began; null for a file that is not an mqpay backup. */
export function backupStartedAtMs(db: Db): number | null {
  const value = metaOf(db, BACKUP_STARTED);
  return value === null ? null : Number(value);
}

export function writeRestoreRecord(db: Db, record: { restoredAtMs: number; from: string; backupStartedAtMs: number; backupSha256: string }): void {
  db.transaction(() => {
    setMeta(db, 'restored_at_ms', String(record.restoredAtMs));
    setMeta(db, 'restored_from', record.from);
    setMeta(db, 'restored_backup_started_at_ms', String(record.backupStartedAtMs));
    setMeta(db, 'restored_backup_sha256', record.backupSha256);
    setMeta(db, 'healed_channels', '0');
    setMeta(db, 'healed_created', '0');
    setMeta(db, 'healed_amount', '0');
    // The restored file is the live ledger now, not a backup: its stamp would mislead a later one.
    statement(db, 'DELETE FROM meta WHERE key = ?').run(BACKUP_STARTED);
  }).immediate();
}

export function readRestoreRecord(db: Db): RestoreRecord | null {
  const values = RESTORE_KEYS.map((key) => metaOf(db, key));
  const [at, from, started, sha, channels, created, amount] = values;
  if (at === null || at === undefined) return null;
  return {
    restoredAtMs: Number(at), from: from ?? '', backupStartedAtMs: Number(started ?? 0), backupSha256: sha ?? '',
    healedChannels: Number(channels ?? 0), healedCreated: Number(created ?? 0), healedAmount: amountOf(BigInt(amount ?? 0)),
  };
}

/** Counts one healed channel, inside the caller's transaction; false when the ledger was never restored. */
export function recordHeal(db: Db, heal: { created: boolean; amount: Amount }): boolean {
  const record = readRestoreRecord(db);
  if (record === null) return false;
  setMeta(db, 'healed_channels', String(record.healedChannels + 1));
  setMeta(db, 'healed_created', String(record.healedCreated + (heal.created ? 1 : 0)));
  setMeta(db, 'healed_amount', (record.healedAmount + heal.amount).toString());
  return true;
}

/** Where the broker keeps its operator journal (its --backup-dir), so admin commands on the data directory journal there too. */
export function journalDirOf(db: Db): string | null {
  return metaOf(db, 'journal_dir');
}

export function setJournalDir(db: Db, dir: string): void {
  db.transaction(() => setMeta(db, 'journal_dir', dir)).immediate();
}
