// The one registry of stable error codes (fastify style). Codes travel on the wire and in exit
// messages; never rename one. `retryable` tells a client whether the same request can succeed
// later unchanged (a busy service) or never will (a bad signature).

export const ERRORS = {
  AMOUNT_INVALID: { message: 'amount is not a decimal with at most 6 places', retryable: false },
  AMOUNT_NEGATIVE: { message: 'amount is negative', retryable: false },
  AMOUNT_OVERFLOW: { message: 'amount exceeds the u64 range of micro-units', retryable: false },
  AMOUNT_ZERO: { message: 'amount must be greater than zero', retryable: false },
  DEVICE_ID_INVALID: { message: 'device id must be 1-32 of [a-z0-9_.-], starting with a letter or digit', retryable: false },
  DEVICE_UNKNOWN: { message: 'device is not enrolled', retryable: false },
  DEVICE_DISABLED: { message: 'device is disabled', retryable: false },
  DEVICE_EXISTS: { message: 'device is already enrolled', retryable: false },
  KEY_INVALID: { message: 'public key is not a canonical, prime-order ed25519 point', retryable: false },
  ENCODING_INVALID: { message: 'binary encoding is malformed', retryable: false },
  MESSAGE_INVALID: { message: 'message does not match its schema', retryable: false },
  MESSAGE_TOO_LARGE: { message: 'message exceeds the payload size limit', retryable: false },
  TOPIC_INVALID: { message: 'topic is not an mqpay topic', retryable: false },
  SIGNATURE_INVALID: { message: 'signature does not verify', retryable: false },
  TOKEN_INVALID: { message: 'connect token is malformed or not for this device and broker', retryable: false },
  TOKEN_EXPIRED: { message: 'connect token time is outside the accepted window', retryable: true },
  TOKEN_REPLAYED: { message: 'connect token was already used', retryable: false },
  NOT_AUTHORIZED: { message: 'not allowed for this client', retryable: false },
  NOT_FOUND: { message: 'no such resource', retryable: false },
  METHOD_NOT_ALLOWED: { message: 'method not allowed on this resource', retryable: false },
  CHANNEL_UNKNOWN: { message: 'channel does not exist', retryable: false },
  CHANNEL_CLOSED: { message: 'channel is closed', retryable: false },
  CHANNEL_EXPIRED: { message: 'channel has expired', retryable: false },
  CHANNEL_NOT_PAYER: { message: 'channel belongs to another payer', retryable: false },
  CHANNEL_LIMIT: { message: 'too many open channels for this device', retryable: false },
  CHANNEL_SELF: { message: 'a device cannot open a channel to itself', retryable: false },
  CHANNEL_DURATION_INVALID: { message: 'channel duration is outside the allowed bounds', retryable: false },
  VOUCHER_SEQ_NOT_INCREASING: { message: 'voucher seq must be greater than the latest accepted seq', retryable: false },
  VOUCHER_TOTAL_NOT_INCREASING: { message: 'voucher total must be greater than the latest accepted total', retryable: false },
  VOUCHER_ABOVE_DEPOSIT: { message: 'voucher total exceeds the channel deposit', retryable: false },
  VOUCHER_EXPIRED: { message: 'voucher has expired', retryable: false },
  VOUCHER_DOUBLE_SIGNED: { message: 'a different total was already signed for this seq', retryable: false },
  RECEIPT_MISMATCH: { message: 'receipt does not match its channel', retryable: false },
  INSUFFICIENT_FUNDS: { message: 'wallet balance is too low', retryable: false },
  RATE_LIMITED: { message: 'too many messages from this device; slow down', retryable: true },
  TOO_MANY_IN_FLIGHT: { message: 'too many requests in flight from this device', retryable: true },
  POLICY_MAX_PER_PAYMENT: { message: 'payment exceeds the per-payment maximum', retryable: false },
  POLICY_BUDGET_EXCEEDED: { message: 'payment exceeds a spending budget', retryable: false },
  POLICY_PAYEE_NOT_ALLOWED: { message: 'payee is not on the allow-list', retryable: false },
  IDEMPOTENCY_CONFLICT: { message: 'the idempotency key was already used for a different request', retryable: false },
  TIMEOUT: { message: 'no answer in time', retryable: true },
  SERVICE_UNAVAILABLE: { message: 'service is unavailable', retryable: true },
  INTERNAL: { message: 'internal error', retryable: true },
} as const satisfies Record<string, { message: string; retryable: boolean }>;

export type ErrorCode = keyof typeof ERRORS;
export const ERROR_CODES = Object.freeze(Object.keys(ERRORS) as ErrorCode[]);

export class MqpayError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly detail: string | undefined;

  constructor(code: ErrorCode, detail?: string) {
    const entry = ERRORS[code];
    super(detail === undefined ? entry.message : `${entry.message}: ${detail}`);
    this.name = 'MqpayError';
    this.code = code;
    this.retryable = entry.retryable;
    this.detail = detail;
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}

/** Asserts an internal invariant; a failure is a bug in mqpay, never bad input. */
export function assert(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${what}`);
}
