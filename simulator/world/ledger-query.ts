// One way to read either ledger: the embedded broker's SQLite file or the cluster's PostgreSQL
// (same tables and columns). The simulator's reads and end checks are written once, in SQL with
// `?` placeholders, and run on whichever store the run uses.
import type pg from 'pg';
import type { Db } from '../../broker/store/sqlite/open-database.js';
import { statement } from '../../sqlite/statement.js';

export type LedgerRow = Readonly<Record<string, unknown>>;
export type LedgerQuery = (sql: string, params?: readonly unknown[]) => Promise<LedgerRow[]>;

export function sqliteQuery(db: () => Db): LedgerQuery {
  return async (sql, params = []) => statement(db(), sql).all(...params) as LedgerRow[];
}

/** `?` placeholders become PostgreSQL's `$1, $2, ...`. */
export function postgresQuery(pool: pg.Pool): LedgerQuery {
  return async (sql, params = []) => {
    let index = 0;
    const values = params.map((value) => (typeof value === 'bigint' ? value.toString() : value instanceof Uint8Array ? Buffer.from(value) : value));
    const result = await pool.query(sql.replace(/\?/g, () => `$${(index += 1)}`), values);
    return result.rows as LedgerRow[];
  };
}

/** An integer column as a bigint (SQLite gives bigints, PostgreSQL strings for bigint columns). */
export function bigintOf(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' || typeof value === 'string') return BigInt(value);
  throw new Error(`not an integer: ${String(value)}`);
}
