// The connection pool of the PostgreSQL ledger (node-postgres). Its own type parsers, so nothing
// here changes `pg` for the rest of the process: int8 (bigint columns, count(*)) and numeric
// (SUM of bigint) are read as BigInt, never as a JS number, since money is integer micro-units
// [docs/DESIGN.md rule 1]; a numeric with a fraction is a bug and throws. bytea arrives as a
// Buffer (converted to Uint8Array where rows are mapped); Uint8Array and bigint parameters are
// sent as bytea and as decimal text.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { assert } from '../../../shared/errors.js';
import { POSTGRES_CONNECT_TIMEOUT_MS, POSTGRES_IDLE_IN_TRANSACTION_MS_MAX, POSTGRES_IDLE_TIMEOUT_MS, POSTGRES_LOCK_WAIT_MS, POSTGRES_POOL_SIZE_DEFAULT } from '../../limits.js';

const INT8_OID = 20;
const NUMERIC_OID = 1700;

function parseInteger(text: string): bigint {
  assert(/^-?\d+$/.test(text), 'an integer column holds an integer');
  return BigInt(text);
}

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (oid === INT8_OID || oid === NUMERIC_OID) return parseInteger;
    return pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
  },
};

/** What a query runs on: the pool (one statement, auto-commit) or a transaction's client. */
export interface Queryable {
  query<Row extends pg.QueryResultRow>(text: string, values?: readonly unknown[]): Promise<pg.QueryResult<Row>>;
}

const statementNames = new Map<string, string>();

/** A stable name per SQL text: the same text is parsed and planned once per connection. */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `mqpay_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
    // The texts are the adapter's constants (a fixed set), so this map stays small.
    statementNames.set(text, name);
  }
  return name;
}

/**
 * Queries on `target` as named prepared statements (those with parameters): the voucher path runs
 * the same few statements thousands of times a second, and PostgreSQL then skips parsing and
 * planning them. `onError` maps what the query rejects with.
 */
export function preparedOn(target: pg.Pool | pg.PoolClient, onError: (error: unknown) => unknown = (error) => error): Queryable {
  return {
    query: <Row extends pg.QueryResultRow>(text: string, values: readonly unknown[] = []) => {
      const config: pg.QueryConfig = values.length === 0 ? { text } : { name: statementName(text), text, values: values as unknown[] };
      return (target.query(config) as Promise<pg.QueryResult<Row>>).catch((error: unknown) => {
        throw onError(error);
      });
    },
  };
}

export interface PostgresPoolOptions {
  /** Connections in the pool (default POSTGRES_POOL_SIZE_DEFAULT). */
  readonly size?: number;
  /** Longest wait of a statement for a lock (default POSTGRES_LOCK_WAIT_MS). */
  readonly lockWaitMs?: number;
}

export function createPool(url: string, options: PostgresPoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.size ?? POSTGRES_POOL_SIZE_DEFAULT,
    connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: POSTGRES_IDLE_TIMEOUT_MS,
    // A write never waits for a lock without bound (another worker's stuck transaction, an
    // operator's session): past it the write is SERVICE_UNAVAILABLE (faults.ts), as SQLite's
    // lock wait is; and a transaction left open by a stalled process is ended by the server.
    lock_timeout: options.lockWaitMs ?? POSTGRES_LOCK_WAIT_MS,
    idle_in_transaction_session_timeout: POSTGRES_IDLE_IN_TRANSACTION_MS_MAX,
    keepAlive: true,
    types,
  });
  // A connection cut by the server (a restart, pg_terminate_backend) is an event, not a crash of
  // the process. The pool listens on idle clients only, and a client emits 'error' even while it
  // is checked out (its query rejects too, and that is what the store acts on): so every client
  // gets its own listener when it connects. The next query takes another connection.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => ignoreConnectionErrors(client));
  return pool;
}

/**
 * Keeps a client's 'error' events (a cut connection) from being uncaught: without a listener an
 * EventEmitter throws them, and the process dies. What the client was doing rejects on its own.
 */
export function ignoreConnectionErrors(client: pg.Client | pg.PoolClient): void {
  client.on('error', () => undefined);
}

/** The rows of a query. */
export async function rowsOf<Row extends pg.QueryResultRow>(q: Queryable, text: string, values: readonly unknown[] = []): Promise<Row[]> {
  return (await q.query<Row>(text, values)).rows;
}

/** The one row of a query, or null when it returned none (asserted: never more than one). */
export async function rowOf<Row extends pg.QueryResultRow>(q: Queryable, text: string, values: readonly unknown[] = []): Promise<Row | null> {
  const rows = await rowsOf<Row>(q, text, values);
  assert(rows.length <= 1, 'a single-row query returned one row at most');
  return rows[0] ?? null;
}

/** How many rows a write changed (its change count, asserted by callers). */
export async function changesOf(q: Queryable, text: string, values: readonly unknown[] = []): Promise<number> {
  return (await q.query(text, values)).rowCount ?? 0;
}

/** A copy: a small Buffer may be a view of a shared slab. */
export const bytes = (value: Buffer): Uint8Array => new Uint8Array(value);
export const bytesOrNull = (value: Buffer | null): Uint8Array | null => (value === null ? null : bytes(value));
