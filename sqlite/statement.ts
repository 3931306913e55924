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
