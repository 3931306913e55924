// Whether the agent's last run ended with a clean stop. The vouchers inside a reserved block of
// seqs are committed without an fsync [docs/DESIGN.md rule 5]; a clean stop makes them durable
// (the flag's own commit, synchronous=FULL, fsyncs the WAL and every commit before it), so the
// next start knows exactly what was signed and need neither skip seqs nor ask the service. After
// a crash the flag is absent, and the start skips and syncs.
import type { StateDb } from './open-state.js';
import { statement } from './statement.js';

const KEY = 'clean_stop';

/** At stop, after the last write: a durable commit (the connection is synchronous=FULL). */
export function markCleanStop(db: StateDb): void {
  if (db.pragma('synchronous', { simple: true }) !== 2n) throw new Error('assertion failed: the clean-stop mark is a durable commit');
  statement(db, "INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT (key) DO UPDATE SET value = '1'").run(KEY);
}

/** At start, before anything is signed: whether the last run stopped cleanly; clears the mark durably. */
export function takeCleanStop(db: StateDb): boolean {
  return statement(db, 'DELETE FROM meta WHERE key = ?').run(KEY).changes === 1;
}
