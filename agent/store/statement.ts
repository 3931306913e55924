// Prepared statements, cached per connection: the voucher path runs the same few statements
// thousands of times a second, and preparing is most of the cost of a small statement.
import type { Statement } from 'better-sqlite3';
import type { StateDb } from './open-state.js';

const cache = new WeakMap<StateDb, Map<string, Statement>>();

export function statement(db: StateDb, sql: string): Statement {
  let statements = cache.get(db);
  if (statements === undefined) {
    statements = new Map();
    cache.set(db, statements);
  }
  let prepared = statements.get(sql);
  if (prepared === undefined) {
    prepared = db.prepare(sql);
    statements.set(sql, prepared);
  }
  return prepared;
}

/** BLOB columns come back as Buffers; core code works on plain Uint8Arrays. */
export const bytesOf = (value: Buffer): Uint8Array => new Uint8Array(value);
export const bytesOrNull = (value: Buffer | null): Uint8Array | null => (value === null ? null : new Uint8Array(value));
