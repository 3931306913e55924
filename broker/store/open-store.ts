// Opens the store a process names by URL: a `postgres://` (or `postgresql://`) URL is the cluster
// mode's PostgreSQL ledger; anything else is a SQLite file, as a path or `sqlite:PATH` (a path
// that is a directory means its `mqpay.db`, the broker's data directory layout). One entry point,
// so workers, the auth service and tools take the same `--store URL`.
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { STORE_LOCK_WAIT_MS_DEFAULT } from '../limits.js';
import type pg from 'pg';
import type { Store } from './port.js';
import type { OperatorReads } from './operator-reads.js';
import { postgresOperatorReads } from './postgres/operator-reads.js';
import { sqliteOperatorReads } from './sqlite/operator-reads-adapter.js';
import { auditPostgres } from './postgres/audit.js';
import { auditLedger, type AuditCheck } from './sqlite/audit.js';
import { openPostgresLedger } from './postgres/open.js';
import { DATABASE_FILE, openDatabase } from './sqlite/open-database.js';
import { sqliteStore } from './sqlite/store.js';

export type StoreKind = 'sqlite' | 'postgres';

export interface OpenStoreOptions {
  /** The ISO 4217 code a new ledger gets; an existing ledger with another is CURRENCY_MISMATCH. */
  readonly currency?: string;
  /** SQLite: how long a write waits for another process's write lock (default STORE_LOCK_WAIT_MS_DEFAULT). */
  readonly lockWaitMs?: number;
  /** PostgreSQL: connections in the pool (default POSTGRES_POOL_SIZE_DEFAULT). */
  readonly poolSize?: number;
}

export interface OpenedStore {
  readonly store: Store;
  readonly kind: StoreKind;
  /** The PostgreSQL pool (null for SQLite): the settlement leader's lock is taken beside it (postgres/leader.ts). */
  readonly pool: pg.Pool | null;
  /** The ledger audit of `mqpay ledger check`, whichever the database; the same report shape. */
  audit(options?: { verifySignatures?: boolean }): Promise<AuditCheck[]>;
  /** What the operator surface reads (API, dashboard), from this ledger. */
  readonly operatorReads: OperatorReads;
  close(): Promise<void>;
}

export function storeKindOf(url: string): StoreKind {
  return /^postgres(ql)?:\/\//i.test(url) ? 'postgres' : 'sqlite';
}

export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<OpenedStore> {
  if (storeKindOf(url) === 'postgres') return openPostgresStore(url, options);
  const file = sqliteFileOf(url);
  const db = openDatabase(dirname(file), { file, ...(options.currency === undefined ? {} : { currency: options.currency }) });
  const store = sqliteStore(db, { lockWaitMs: options.lockWaitMs ?? STORE_LOCK_WAIT_MS_DEFAULT });
  return { store, kind: 'sqlite', pool: null, audit: async (audit = {}) => auditLedger(db, audit), operatorReads: sqliteOperatorReads(db), close: () => store.close() };
}

/** `sqlite:PATH` or PATH; a directory means the broker's ledger file inside it. */
export function sqliteFileOf(url: string): string {
  const path = resolve(url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url);
  return existsSync(path) && statSync(path).isDirectory() ? join(path, DATABASE_FILE) : path;
}

async function openPostgresStore(url: string, options: OpenStoreOptions): Promise<OpenedStore> {
  const ledger = await openPostgresLedger(url, {
    ...(options.currency === undefined ? {} : { currency: options.currency }),
    ...(options.poolSize === undefined ? {} : { poolSize: options.poolSize }),
  });
  return { store: ledger.store, kind: 'postgres', pool: ledger.pool, audit: (audit = {}) => auditPostgres(ledger.pool, audit), operatorReads: postgresOperatorReads(ledger.pool), close: () => ledger.close() };
}
