// The stable numeric index of each error code, as binary frames carry it (docs/PROTOCOL.md,
// "Binary frames"). Frozen: an index is never reused nor renumbered; a new code is APPENDED here
// (test/wire-frames.test.ts fails until every code of shared/errors.ts has an index). The order
// of ERRORS in shared/errors.ts is not frozen, so it is not used.
import { ERRORS, MqpayError, type ErrorCode } from './errors.js';

export const ERROR_CODE_TABLE: readonly ErrorCode[] = [
  /* 0 */ 'INTERNAL',
  /* 1 */ 'AMOUNT_INVALID',
  /* 2 */ 'AMOUNT_NEGATIVE',
  /* 3 */ 'AMOUNT_OVERFLOW',
  /* 4 */ 'AMOUNT_ZERO',
  /* 5 */ 'CURRENCY_INVALID',
  /* 6 */ 'CURRENCY_MISMATCH',
  /* 7 */ 'DEVICE_ID_INVALID',
  /* 8 */ 'DEVICE_UNKNOWN',
  /* 9 */ 'DEVICE_DISABLED',
  /* 10 */ 'DEVICE_EXISTS',
  /* 11 */ 'KEY_INVALID',
  /* 12 */ 'KEY_REUSED',
  /* 13 */ 'KEY_ROTATED',
  /* 14 */ 'KEY_ROTATION_INVALID',
  /* 15 */ 'ENCODING_INVALID',
  /* 16 */ 'MESSAGE_INVALID',
  /* 17 */ 'MESSAGE_TOO_LARGE',
  /* 18 */ 'TOPIC_INVALID',
  /* 19 */ 'SIGNATURE_INVALID',
  /* 20 */ 'TOKEN_INVALID',
  /* 21 */ 'TOKEN_EXPIRED',
  /* 22 */ 'TOKEN_REPLAYED',
  /* 23 */ 'NOT_AUTHORIZED',
  /* 24 */ 'NOT_FOUND',
  /* 25 */ 'MEDIA_TYPE_UNSUPPORTED',
  /* 26 */ 'METHOD_NOT_ALLOWED',
  /* 27 */ 'CHANNEL_UNKNOWN',
  /* 28 */ 'CHANNEL_CLOSED',
  /* 29 */ 'CHANNEL_EXPIRED',
  /* 30 */ 'CHANNEL_CLOSING',
  /* 31 */ 'CHANNEL_NOT_PAYEE',
  /* 32 */ 'CHANNEL_NOT_PAYER',
  /* 33 */ 'CHANNEL_LIMIT',
  /* 34 */ 'CHANNEL_SELF',
  /* 35 */ 'CHANNEL_DURATION_INVALID',
  /* 36 */ 'VOUCHER_SEQ_NOT_INCREASING',
  /* 37 */ 'VOUCHER_TOTAL_NOT_INCREASING',
  /* 38 */ 'VOUCHER_ABOVE_DEPOSIT',
  /* 39 */ 'VOUCHER_EXPIRED',
  /* 40 */ 'VOUCHER_DOUBLE_SIGNED',
  /* 41 */ 'OFFER_EXPIRED',
  /* 42 */ 'OFFER_STALE',
  /* 43 */ 'OFFER_SELLER_MISMATCH',
  /* 44 */ 'RECEIPT_MISMATCH',
  /* 45 */ 'HOME_EXISTS',
  /* 46 */ 'HOME_LOCKED',
  /* 47 */ 'IDEMPOTENCY_CONFLICT',
  /* 48 */ 'INSUFFICIENT_FUNDS',
  /* 49 */ 'RESTORE_FUNDS_PENDING',
  /* 50 */ 'RATE_LIMITED',
  /* 51 */ 'TOO_MANY_IN_FLIGHT',
  /* 52 */ 'POLICY_MAX_PER_PAYMENT',
  /* 53 */ 'POLICY_BUDGET_EXCEEDED',
  /* 54 */ 'POLICY_PAYEE_NOT_ALLOWED',
  /* 55 */ 'TIMEOUT',
  /* 56 */ 'SERVICE_UNAVAILABLE',
  /* 57 */ 'LIMIT_PER_PAYMENT',
  /* 58 */ 'LIMIT_PER_HOUR',
  /* 59 */ 'LIMIT_PER_DAY',
  /* 60 */ 'LIMIT_PAYEE_NOT_ALLOWED',
  /* 61 */ 'LIMIT_DEPOSIT',
  /* 62 */ 'TICK_CHECKPOINT_UNKNOWN',
  /* 63 */ 'TICK_INDEX_INVALID',
  /* 64 */ 'TICK_SKIP_TOO_LARGE',
  /* 65 */ 'TICK_PREIMAGE_INVALID',
  /* 66 */ 'TICK_ABOVE_DEPOSIT',
];

const INDEX_OF = new Map<ErrorCode, number>(ERROR_CODE_TABLE.map((code, index) => [code, index]));

/** The index of a code; a code missing from the table travels as INTERNAL (0), never as another code. */
export function errorIndexOf(code: ErrorCode): number {
  return INDEX_OF.get(code) ?? 0;
}

/** The code at an index; an index this build does not know is refused, not guessed. */
export function errorCodeAt(index: number): ErrorCode {
  const code = ERROR_CODE_TABLE[index];
  if (code === undefined || !(code in ERRORS)) throw new MqpayError('ENCODING_INVALID', `unknown error index ${index}`);
  return code;
}
