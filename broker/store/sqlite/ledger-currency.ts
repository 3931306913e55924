// The ledger's currency, kept in `meta` under CURRENCY_META_KEY: set once, when the ledger is
// first opened (by `ledger init --currency`, `device add --init --currency`, the broker's
// `--currency`, or the default), and never changed afterwards: the currency migration's triggers refuse a
// second insert, an update or a delete [docs/DESIGN.md rule 13].
import { checkCurrencyCode, CURRENCY_META_KEY, DEFAULT_CURRENCY } from '../../../shared/currency.js';
import { assert, MqpayError } from '../../../shared/errors.js';
import { statement } from '../../../sqlite/statement.js';
import type { Db } from './open-database.js';

function storedCurrency(db: Db): string | null {
  const row = statement(db, 'SELECT value FROM meta WHERE key = ?').get(CURRENCY_META_KEY) as { value: string } | undefined;
  return row === undefined ? null : checkCurrencyCode(row.value);
}

/**
 * The ledger's currency. A ledger opened read-only before any writer gave it one has no amounts
 * yet (the currency migration gave the default to every ledger with devices or transfers): the default.
 */
export function ledgerCurrency(db: Db): string {
  return storedCurrency(db) ?? DEFAULT_CURRENCY;
}

/**
 * Gives a new ledger its currency (`wanted`, else the default) or checks an existing one against
 * `wanted`: another code is CURRENCY_MISMATCH. Returns the ledger's currency.
 */
export function settleLedgerCurrency(db: Db, wanted: string | undefined): string {
  const asked = wanted === undefined ? undefined : checkCurrencyCode(wanted);
  const compare = (stored: string): string => {
    if (asked !== undefined && asked !== stored) throw new MqpayError('CURRENCY_MISMATCH', `${stored}, not ${asked} (a ledger's currency never changes)`);
    return stored;
  };
  // Read first: an existing ledger (the usual case) is checked without taking the write lock.
  const known = storedCurrency(db);
  if (known !== null) return compare(known);
  return db.transaction(() => {
    const stored = storedCurrency(db);
    if (stored !== null) return compare(stored);
    const chosen = asked ?? DEFAULT_CURRENCY;
    const inserted = statement(db, 'INSERT INTO meta (key, value) VALUES (?, ?)').run(CURRENCY_META_KEY, chosen).changes;
    assert(inserted === 1, 'the currency row is written once');
    return chosen;
  }).immediate();
}
