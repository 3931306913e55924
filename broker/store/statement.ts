// Prepared statements, prepared once per connection and reused: preparing on every call would
// cost more than the query on the voucher hot path.
import type Database from 'better-sqlite3';
import type { Db } from './open-database.js';

const cache = new WeakMap<Db, Map<string, Database.Statement>>();

export function statement(db: Db, sql: string): Database.Statement {
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
