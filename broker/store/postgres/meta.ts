// What the PostgreSQL ledger keeps in `meta` (key/value): its currency, written once by
// migrate.ts, and the restore record (broker/store/sqlite/restore-record.ts keeps the same keys;
// a PostgreSQL ledger is restored with PostgreSQL's own tools, so it normally has none).
import { amountOf, type Amount } from '../../../shared/amount.js';
import { checkCurrencyCode, CURRENCY_META_KEY, DEFAULT_CURRENCY } from '../../../shared/currency.js';
import { assert } from '../../../shared/errors.js';
import type { RestoreRecordRow } from '../port.js';
import { changesOf, rowsOf, type Queryable } from './pool.js';

const RESTORE_KEYS = ['restored_at_ms', 'restored_from', 'restored_backup_started_at_ms', 'restored_backup_sha256', 'healed_channels', 'healed_created', 'healed_amount'] as const;

async function metaValues(q: Queryable, keys: readonly string[]): Promise<Map<string, string>> {
  const rows = await rowsOf<{ key: string; value: string }>(q, 'SELECT key, value FROM meta WHERE key = ANY($1::text[])', [keys]);
  return new Map(rows.map((row) => [row.key, row.value]));
}

export async function ledgerCurrency(q: Queryable): Promise<string> {
  const value = (await metaValues(q, [CURRENCY_META_KEY])).get(CURRENCY_META_KEY);
  return value === undefined ? DEFAULT_CURRENCY : checkCurrencyCode(value);
}

export async function readRestoreRecord(q: Queryable): Promise<RestoreRecordRow | null> {
  const values = await metaValues(q, RESTORE_KEYS);
  const at = values.get('restored_at_ms');
  if (at === undefined) return null;
  return {
    restoredAtMs: Number(at), from: values.get('restored_from') ?? '', backupStartedAtMs: Number(values.get('restored_backup_started_at_ms') ?? 0),
    backupSha256: values.get('restored_backup_sha256') ?? '', healedChannels: Number(values.get('healed_channels') ?? 0),
    healedCreated: Number(values.get('healed_created') ?? 0), healedAmount: amountOf(BigInt(values.get('healed_amount') ?? 0)),
  };
}

async function setMeta(q: Queryable, key: string, value: string): Promise<void> {
  const changed = await changesOf(q, 'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  assert(changed === 1, 'one meta row written');
}

export async function recordHeal(q: Queryable, heal: { readonly created: boolean; readonly amount: Amount }): Promise<boolean> {
  const record = await readRestoreRecord(q);
  if (record === null) return false;
  await setMeta(q, 'healed_channels', String(record.healedChannels + 1));
  await setMeta(q, 'healed_created', String(record.healedCreated + (heal.created ? 1 : 0)));
  await setMeta(q, 'healed_amount', (record.healedAmount + heal.amount).toString());
  return true;
}
