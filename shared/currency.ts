// Currency: one ledger holds one currency, an ISO 4217 alphabetic code (three upper-case
// letters), chosen when the ledger is created and never changed afterwards. Amounts stay in
// micro-units (10^-6 of the currency's unit) whatever the code [docs/DESIGN.md rule 1].
import { MqpayError } from './errors.js';

/** The code a ledger gets when `mqpay ledger init` is not told one. */
export const DEFAULT_CURRENCY = 'EUR';

/** The key under which the SQLite ledger's `meta` table keeps the currency. */
export const CURRENCY_META_KEY = 'currency';

const CURRENCY_PATTERN = /^[A-Z]{3}$/;

export function isCurrencyCode(value: unknown): value is string {
  return typeof value === 'string' && CURRENCY_PATTERN.test(value);
}

/** The code itself, or CURRENCY_INVALID: three upper-case letters A-Z, as ISO 4217 writes them. */
export function checkCurrencyCode(value: unknown): string {
  if (!isCurrencyCode(value)) throw new MqpayError('CURRENCY_INVALID', JSON.stringify(value));
  return value;
}
