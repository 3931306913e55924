// Money: bigint micro-units (10^-6 of the currency), never a float. Amounts are u64 on the wire,
// so every operation is checked against [0, 2^64-1]; a result outside it throws.
import { MqpayError } from './errors.js';
import { AMOUNT_DECIMALS, AMOUNT_MICRO_MAX, AMOUNT_STRING_LENGTH_MAX, MICRO_PER_UNIT } from './limits.js';

declare const amountBrand: unique symbol;
/** A checked count of micro-units in [0, 2^64-1]. */
export type Amount = bigint & { readonly [amountBrand]: true };

export const ZERO = 0n as Amount;

/** Brands a bigint as an Amount after checking its range. */
export function amountOf(micro: bigint): Amount {
  if (typeof micro !== 'bigint') throw new MqpayError('AMOUNT_INVALID', `not a bigint: ${typeof micro}`);
  if (micro < 0n) throw new MqpayError('AMOUNT_NEGATIVE');
  if (micro > AMOUNT_MICRO_MAX) throw new MqpayError('AMOUNT_OVERFLOW');
  return micro as Amount;
}

// Digits only, no sign, no exponent, no blanks, no leading zeros (except a lone 0), and a
// fraction of 1..6 digits when a point is present. Everything else is refused, not guessed at.
const DECIMAL_PATTERN = /^(0|[1-9][0-9]*)(?:\.([0-9]{1,6}))?$/;

/** Parses a decimal currency string such as "12.5" or "0.000125" into micro-units. */
export function parseAmount(text: string): Amount {
  if (typeof text !== 'string') throw new MqpayError('AMOUNT_INVALID', 'not a string');
  if (text.length > AMOUNT_STRING_LENGTH_MAX) throw new MqpayError('AMOUNT_INVALID', 'too long');
  if (text.startsWith('-')) throw new MqpayError('AMOUNT_NEGATIVE', JSON.stringify(text));
  const match = DECIMAL_PATTERN.exec(text);
  if (match === null) throw new MqpayError('AMOUNT_INVALID', JSON.stringify(text));
  const whole = BigInt(match[1] ?? '0');
  const fraction = BigInt((match[2] ?? '').padEnd(AMOUNT_DECIMALS, '0'));
  return amountOf(whole * MICRO_PER_UNIT + fraction);
}

/** Formats micro-units as the shortest exact decimal: 12500000n -> "12.5", 125n -> "0.000125". */
export function formatAmount(amount: Amount): string {
  const micro = amountOf(amount);
  const whole = micro / MICRO_PER_UNIT;
  const fraction = micro % MICRO_PER_UNIT;
  if (fraction === 0n) return whole.toString();
  const digits = fraction.toString().padStart(AMOUNT_DECIMALS, '0').replace(/0+$/, '');
  return `${whole}.${digits}`;
}

/** Parses a string of whole micro-units ("125"), as stored or logged by the service. */
export function parseMicro(text: string): Amount {
  if (typeof text !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(text)) {
    throw new MqpayError('AMOUNT_INVALID', `not a micro-unit integer: ${JSON.stringify(text)}`);
  }
  return amountOf(BigInt(text));
}

export function addAmount(a: Amount, b: Amount): Amount {
  return amountOf(a + b);
}

/** Checked subtraction: a result below zero is an error, never a wrap. */
export function subAmount(a: Amount, b: Amount): Amount {
  return amountOf(a - b);
}

export function minAmount(a: Amount, b: Amount): Amount {
  return a < b ? a : b;
}

export function sumAmounts(amounts: Iterable<Amount>): Amount {
  let total = ZERO;
  for (const amount of amounts) total = addAmount(total, amount);
  return total;
}
