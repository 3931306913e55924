// Backups and disaster recovery over a data directory: `mqpay ledger backup` (an online, checked
// snapshot while the broker runs), `mqpay ledger restore` (into a directory without a ledger,
// recorded in the restored ledger) and `mqpay ledger journal` (the operator's money actions
// after a backup, as commands to replay with their own idempotency keys).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathOf, requirePath, UsageError, type Command, type CommandInput } from '../../../cli/command.js';
import { MqpayError } from '../../../shared/errors.js';
import { inspectBackup, writeBackup } from '../../store/sqlite/backup-file.js';
import { transferExists } from '../../store/sqlite/ledger.js';
import { DATABASE_FILE, openDatabase } from '../../store/sqlite/open-database.js';
import { RestoreRefused, restoreLedger } from '../../store/sqlite/restore-file.js';
import { journalDirOf } from '../../store/sqlite/restore-record.js';
import { loadOrCreateServiceKey, SERVICE_KEY_FILE } from '../../service-key.js';
import { systemRandom } from '../../app.js';
import { actionsSince, commandOf, readJournal, transferIdOf, type JournalEntry } from '../../backup/operator-journal.js';
import { BACKUP_PAGES_PER_STEP_OFFLINE } from '../../limits.js';

const iso = (ms: number): string => new Date(ms).toISOString();

export const ledgerBackupCommand: Command = {
  name: ['ledger', 'backup'],
  summary: 'write a consistent, checked backup of the ledger (and the service key) to a new file, while the broker runs',
  positionals: [],
  options: {
    data: { type: 'string', description: 'broker data directory' },
    to: { type: 'string', description: 'the backup file to create (refused if it exists); keep it secret: it holds the service key' },
  },
  async run(input) {
    const dataDir = requirePath(input, 'data');
    const to = requirePath(input, 'to');
    if (!existsSync(join(dataDir, DATABASE_FILE)) || !existsSync(join(dataDir, SERVICE_KEY_FILE))) throw new UsageError(`no mqpay ledger in ${dataDir} (check --data)`);
    if (existsSync(to)) throw new UsageError(`${to} exists; a backup never overwrites a file`);
    const serviceKey = loadOrCreateServiceKey(dataDir, systemRandom);
    const db = openDatabase(dataDir);
    try {
      const written = await writeBackup(db, to, { nowMs: Date.now(), pagesPerStep: BACKUP_PAGES_PER_STEP_OFFLINE, serviceSecretKey: serviceKey.secretKey });
      input.stdout(`backup written: ${to} (${written.bytes} bytes), snapshot of ${iso(written.startedAtMs)}`);
      input.stdout(`checked: ${written.checks.length} checks hold (SQLite integrity check and the ledger audit)`);
    } finally {
      db.close();
    }
    return 0;
  },
};

/** Journal actions after a snapshot, less those whose key the ledger already holds. */
function pendingActions(journalDir: string, startedAtMs: number, ledgerDir: string | null): JournalEntry[] {
  const since = actionsSince(readJournal(journalDir), startedAtMs);
  if (ledgerDir === null || !existsSync(join(ledgerDir, DATABASE_FILE))) return since;
  const db = openDatabase(ledgerDir, { readonly: true });
  try {
    return since.filter((entry) => !transferExists(db, transferIdOf(entry)));
  } finally {
    db.close();
  }
}

function printActions(input: CommandInput, journalDir: string, actions: readonly JournalEntry[], dataDir: string): void {
  if (actions.length === 0) {
    input.stdout(`operator journal ${journalDir}: no money actions to replay`);
    return;
  }
  input.stdout(`operator journal ${journalDir}: ${actions.length} money action(s) after the backup; replay them (the same keys make a repeat move nothing):`);
  for (const entry of actions) input.stdout(`  ${commandOf(entry, dataDir)}    # ${iso(entry.atMs)} by ${entry.by}`);
}

function journalOption(input: CommandInput): string | null {
  const value = input.values.journal;
  return typeof value === 'string' && value !== '' ? pathOf(input, 'journal', value) : null;
}

export const ledgerRestoreCommand: Command = {
  name: ['ledger', 'restore'],
  summary: 'restore the ledger (and service key) from a backup into a data directory without one; lists the operator actions to replay',
  positionals: [],
  options: {
    from: { type: 'string', description: 'the backup file (from mqpay ledger backup or --backup-dir)' },
    data: { type: 'string', description: 'the data directory to restore into; refused if it holds a ledger' },
    journal: { type: 'string', description: 'the operator journal\'s directory (the broker\'s --backup-dir); default: the one the ledger names' },
  },
  async run(input) {
    const from = requirePath(input, 'from');
    const dataDir = requirePath(input, 'data');
    let restored;
    try {
      restored = restoreLedger({ from, dataDir, nowMs: Date.now() });
    } catch (error) {
      if (error instanceof RestoreRefused) throw new UsageError(error.message);
      throw error;
    }
    input.stdout(`restored ${dataDir} from ${from} (sha256 ${restored.backup.sha256.slice(0, 16)}…), snapshot of ${iso(restored.backup.startedAtMs)}`);
    input.stdout(`checked: ${restored.backup.checks.length} checks hold; the restore is recorded in the ledger (GET /api/ledger/restore)`);
    input.stdout('devices hand back what came after the snapshot when they reconnect: start the broker, then replay the actions below');
    const db = openDatabase(dataDir, { readonly: true });
    const journalDir = journalOption(input) ?? journalDirOf(db);
    db.close();
    if (journalDir === null) {
      input.stdout('no operator journal known (the broker ran without --backup-dir): replay fundings after the snapshot from your own records');
      return 0;
    }
    printActions(input, journalDir, pendingActions(journalDir, restored.backup.startedAtMs, dataDir), dataDir);
    return 0;
  },
};

export const ledgerJournalCommand: Command = {
  name: ['ledger', 'journal'],
  summary: 'list the operator\'s money actions after a backup\'s snapshot as commands to replay (with --data: only those the ledger lacks)',
  positionals: [],
  options: {
    'since-backup': { type: 'string', description: 'the backup file whose snapshot time starts the list' },
    journal: { type: 'string', description: 'the operator journal\'s directory (the broker\'s --backup-dir)' },
    data: { type: 'string', description: 'a (restored) ledger: actions whose key it holds are left out, and the commands name it' },
  },
  async run(input) {
    const backup = requirePath(input, 'since-backup');
    if (!existsSync(backup)) throw new UsageError(`no backup file ${backup}`);
    const startedAtMs = inspectBackup(backup).startedAtMs;
    if (startedAtMs === null) throw new MqpayError('MESSAGE_INVALID', `${backup} was not made by mqpay ledger backup (no snapshot time)`);
    const dataDir = typeof input.values.data === 'string' ? pathOf(input, 'data', input.values.data) : null;
    const journalDir = journalOption(input);
    if (journalDir === null) throw new UsageError('--journal DIR (the broker\'s --backup-dir) is required');
    printActions(input, journalDir, pendingActions(journalDir, startedAtMs, dataDir), dataDir ?? 'DIR');
    return 0;
  },
};
