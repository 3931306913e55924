// Prepared statements, prepared once per connection and reused: on the voucher paths (the
// broker's ingest, the agent's signing) preparing would cost more than running the statement.
import type Database from 'better-sqlite3';

const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

export function statement(db: Database.Database, sql: string): Database.Statement {
  let byText = cache.get(db);
  if (byText === undefined) {
    byText = new Map();
    cache.set(db, byText);
  }
  let prepared = byText.get(sql);
  if (prepared === undefined) {
    prepared = db.prepare(sql);
    byText.set(sql, prepared);
  }
  return prepared;
}

/**
 * An UPDATE or DELETE of one row by its key: exactly one row must change. Anything else is a
 * bug (a row that should exist does not), thrown so that its write rolls back.
 */
export function changedOne(result: Database.RunResult, what: string): void {
  if (result.changes !== 1) throw new Error(`assertion failed: ${what} changes one row, changed ${result.changes}`);
}

/**
 * A conditional UPDATE of one row (a value that only goes up, a state that moves once): it
 * changes that row or nothing. Returns whether it changed; more than one row is a bug.
 */
export function changedAtMostOne(result: Database.RunResult, what: string): boolean {
  if (result.changes > 1) throw new Error(`assertion failed: ${what} changes at most one row, changed ${result.changes}`);
  return result.changes === 1;
}
