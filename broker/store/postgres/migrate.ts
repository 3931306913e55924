// Brings a PostgreSQL ledger's schema up to date (POSTGRES_MIGRATIONS) and gives a new ledger its
// currency. Several processes of a cluster open the store at once: a transaction-scoped advisory
// lock makes one of them migrate while the others wait, then find nothing left to do.
import type pg from 'pg';
import { checkCurrencyCode, CURRENCY_META_KEY, DEFAULT_CURRENCY } from '../../../shared/currency.js';
import { MqpayError } from '../../../shared/errors.js';
import { rowOf } from './pool.js';
import { POSTGRES_MIGRATIONS } from './schema.js';

/** The advisory lock key of migrations (the settlement leader uses another: leader.ts). */
export const MIGRATION_LOCK_KEY = 0x6d717061_79000001n;

export async function migrate(pool: pg.Pool, options: { currency?: string } = {}): Promise<{ version: number; currency: string }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (one boolean PRIMARY KEY DEFAULT true CHECK (one), version integer NOT NULL)');
    const row = await rowOf<{ version: number }>(client, 'SELECT version FROM schema_version');
    const from = row?.version ?? 0;
    if (from > POSTGRES_MIGRATIONS.length) {
      throw new MqpayError('SERVICE_UNAVAILABLE', `the PostgreSQL ledger has schema ${from}, newer than this mqpay knows (${POSTGRES_MIGRATIONS.length}): upgrade mqpay`);
    }
    for (let index = from; index < POSTGRES_MIGRATIONS.length; index++) await client.query(POSTGRES_MIGRATIONS[index]!);
    await client.query('INSERT INTO schema_version (version) VALUES ($1) ON CONFLICT (one) DO UPDATE SET version = excluded.version', [POSTGRES_MIGRATIONS.length]);
    const currency = await settleCurrency(client, options.currency);
    await client.query('COMMIT');
    return { version: POSTGRES_MIGRATIONS.length, currency };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** As broker/store/sqlite/ledger-currency.ts: a new ledger gets `wanted` (or the default); an existing one must match. */
async function settleCurrency(client: pg.PoolClient, wanted: string | undefined): Promise<string> {
  const asked = wanted === undefined ? undefined : checkCurrencyCode(wanted);
  const stored = await rowOf<{ value: string }>(client, 'SELECT value FROM meta WHERE key = $1', [CURRENCY_META_KEY]);
  if (stored === null) {
    const chosen = asked ?? DEFAULT_CURRENCY;
    await client.query('INSERT INTO meta (key, value) VALUES ($1, $2)', [CURRENCY_META_KEY, chosen]);
    return chosen;
  }
  const known = checkCurrencyCode(stored.value);
  if (asked !== undefined && asked !== known) throw new MqpayError('CURRENCY_MISMATCH', `${known}, not ${asked} (a ledger's currency never changes)`);
  return known;
}
