// Opens the PostgreSQL ledger of a `postgres://` URL: a pool, the schema brought up to date (one
// process at a time), the currency checked, and the store port over them.
import type pg from 'pg';
import type { Store } from '../port.js';
import { migrate } from './migrate.js';
import { createPool } from './pool.js';
import { postgresStore, type PostgresStoreOptions } from './store.js';

export interface OpenPostgresOptions extends PostgresStoreOptions {
  readonly currency?: string;
  readonly poolSize?: number;
  /** Longest wait of a statement for a lock, then SERVICE_UNAVAILABLE (default POSTGRES_LOCK_WAIT_MS). */
  readonly lockWaitMs?: number;
}

export interface PostgresLedger {
  readonly pool: pg.Pool;
  readonly store: Store;
  readonly currency: string;
  close(): Promise<void>;
}

export async function openPostgresLedger(url: string, options: OpenPostgresOptions = {}): Promise<PostgresLedger> {
  const pool = createPool(url, { ...(options.poolSize === undefined ? {} : { size: options.poolSize }), ...(options.lockWaitMs === undefined ? {} : { lockWaitMs: options.lockWaitMs }) });
  try {
    const { currency } = await migrate(pool, options.currency === undefined ? {} : { currency: options.currency });
    const store = postgresStore(pool, options);
    return { pool, store, currency, close: () => store.close() };
  } catch (error) {
    await pool.end();
    throw error;
  }
}
