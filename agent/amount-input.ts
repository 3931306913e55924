// Amounts at the library boundary: a bigint of micro-units, or a decimal string ("0.25").
// Never a number: a float cannot hold money exactly.
import { amountOf, parseAmount, type Amount } from '../shared/amount.js';
import { MqpayError } from '../shared/errors.js';

export type AmountInput = Amount | bigint | string;

export function toAmount(input: AmountInput): Amount {
  if (typeof input === 'string') return parseAmount(input);
  if (typeof input === 'bigint') return amountOf(input);
  throw new MqpayError('AMOUNT_INVALID', 'pass a bigint of micro-units or a decimal string, never a number');
}
