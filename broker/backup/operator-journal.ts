// The operator journal: every operator money action (fundings, payouts of wallets and fees, moves
// between wallets), one JSON line each, appended and fsynced after its commit, in the backup directory
// beside the backups, so it survives losing the data directory. After a restore, the actions
// after the backup's snapshot are listed as commands with their idempotency keys; the same keys
// make running them again safe (an action already in the ledger moves nothing).
//
// To journal a new kind of action: add its member to the entry schema, a case to `commandOf` and
// to `transferIdOf`, and call `appendJournal` where the action commits (see routes-wallets.ts and
// admin-commands.ts for fundings, routes-outflows.ts and money-out-commands.ts for payouts and moves).
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { amountSchema, deviceIdSchema, requestIdSchema } from '../../shared/schemas.js';
import { formatAmount, type Amount } from '../../shared/amount.js';
import { JOURNAL_BYTES_MAX } from '../limits.js';
import { fundTransferId, moveTransferId, payoutTransferId } from '../store/accounts.js';

export const JOURNAL_FILE = 'operator-journal.jsonl';

const by = z.enum(['api', 'cli']);
const atMs = z.number().int().nonnegative();
const journalEntrySchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('wallet.fund'), device: deviceIdSchema, amount: amountSchema, key: requestIdSchema, by, atMs }),
  // Money out [docs/DESIGN.md rule 13]: a payout restored away would otherwise be paid twice.
  z.strictObject({ action: z.literal('wallet.payout'), device: deviceIdSchema, amount: amountSchema, key: requestIdSchema, by, atMs }),
  z.strictObject({ action: z.literal('fees.payout'), amount: amountSchema, key: requestIdSchema, by, atMs }),
  z.strictObject({ action: z.literal('wallet.move'), from: deviceIdSchema, to: deviceIdSchema, amount: amountSchema, key: requestIdSchema, by, atMs }),
]);
export type JournalEntry = z.output<typeof journalEntrySchema>;
export type JournalAction = JournalEntry['action'];

/** Appends one action and fsyncs it; the directory is created if missing. */
export function appendJournal(dir: string, entry: JournalEntry): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const line = JSON.stringify({ ...entry, amount: formatAmount(entry.amount) });
  const fd = openSync(join(dir, JOURNAL_FILE), 'a', 0o600);
  try {
    appendFileSync(fd, `${line}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Every entry, oldest first. A last line torn by a crash is skipped; any other bad line throws. */
export function readJournal(dir: string): JournalEntry[] {
  const path = join(dir, JOURNAL_FILE);
  if (!existsSync(path)) return [];
  if (statSync(path).size > JOURNAL_BYTES_MAX) throw new Error(`${path} is larger than ${JOURNAL_BYTES_MAX} bytes`);
  const lines = readFileSync(path, 'utf8').split('\n');
  const entries: JournalEntry[] = [];
  lines.forEach((line, index) => {
    if (line === '') return;
    const parsed = journalEntrySchema.safeParse(safeJson(line));
    if (parsed.success) entries.push(parsed.data);
    else if (index < lines.length - 1 && lines.slice(index + 1).some((rest) => rest !== '')) throw new Error(`${path} line ${index + 1} is not a journal entry`);
  });
  return entries;
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
}

/** The command that replays an action with its own idempotency key. */
export function commandOf(entry: JournalEntry, dataDir: string): string {
  switch (entry.action) {
    case 'wallet.fund': return `mqpay wallet fund ${entry.device} ${formatAmount(entry.amount as Amount)} --id ${entry.key} --data ${dataDir}`;
    case 'wallet.payout': return `mqpay wallet withdraw ${entry.device} ${formatAmount(entry.amount as Amount)} --id ${entry.key} --data ${dataDir}`;
    case 'fees.payout': return `mqpay fees withdraw ${formatAmount(entry.amount as Amount)} --id ${entry.key} --data ${dataDir}`;
    case 'wallet.move': return `mqpay wallet move ${entry.from} ${entry.to} ${formatAmount(entry.amount as Amount)} --id ${entry.key} --data ${dataDir}`;
  }
}

/** The ledger transfer an action made: a restored ledger that holds it needs no replay. */
export function transferIdOf(entry: JournalEntry): string {
  switch (entry.action) {
    case 'wallet.fund': return fundTransferId(entry.key);
    case 'wallet.payout': case 'fees.payout': return payoutTransferId(entry.key);
    case 'wallet.move': return moveTransferId(entry.key);
  }
}

/**
 * Actions at or after a snapshot began (one that committed while it was copied may be in it or
 * not: replaying it is safe either way), each key once: a replay after a restore is journaled
 * again, and is the same action.
 */
export function actionsSince(entries: readonly JournalEntry[], startedAtMs: number): JournalEntry[] {
  const keys = new Set<string>();
  return entries.filter((entry) => {
    if (entry.atMs < startedAtMs || keys.has(`${entry.action}:${entry.key}`)) return false;
    keys.add(`${entry.action}:${entry.key}`);
    return true;
  });
}
