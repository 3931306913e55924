// The one registry of stable error codes (fastify style). Codes travel on the wire and in exit
// messages; never rename one. `retryable` tells a client whether the same request can succeed
// later unchanged (a busy service) or never will (a bad signature). `httpStatus` is what the
// operator API answers with, so HTTP and MQTT clients see one mapping, kept beside the code.

export interface ErrorEntry {
  /** The registry text: the same for every occurrence; specifics go in `detail`. */
  readonly message: string;
  readonly retryable: boolean;
  readonly httpStatus: number;
}

export const ERRORS = {
  AMOUNT_INVALID: { message: 'amount is not a decimal with at most 6 places', retryable: false, httpStatus: 400 },
  AMOUNT_NEGATIVE: { message: 'amount is negative', retryable: false, httpStatus: 400 },
  AMOUNT_OVERFLOW: { message: 'amount exceeds the u64 range of micro-units', retryable: false, httpStatus: 400 },
  AMOUNT_ZERO: { message: 'amount must be greater than zero', retryable: false, httpStatus: 400 },
  CURRENCY_INVALID: { message: 'currency must be an ISO 4217 code of three upper-case letters', retryable: false, httpStatus: 400 },
  CURRENCY_MISMATCH: { message: 'the ledger keeps another currency', retryable: false, httpStatus: 409 },
  DEVICE_ID_INVALID: { message: 'device id must be 1-32 of [a-z0-9_.-], starting with a letter or digit', retryable: false, httpStatus: 400 },
  DEVICE_UNKNOWN: { message: 'device is not enrolled', retryable: false, httpStatus: 404 },
  DEVICE_DISABLED: { message: 'device is disabled', retryable: false, httpStatus: 409 },
  DEVICE_EXISTS: { message: 'device is already enrolled', retryable: false, httpStatus: 409 },
  KEY_INVALID: { message: 'public key is not a canonical, prime-order ed25519 point', retryable: false, httpStatus: 400 },
  KEY_REUSED: { message: 'public key was already used by a device', retryable: false, httpStatus: 409 },
  KEY_ROTATED: { message: 'signed with a key the device has rotated away from', retryable: false, httpStatus: 409 },
  KEY_ROTATION_INVALID: { message: 'key rotation request is stale, or not for this device and its current key', retryable: false, httpStatus: 400 },
  ENCODING_INVALID: { message: 'binary encoding is malformed', retryable: false, httpStatus: 400 },
  MESSAGE_INVALID: { message: 'message does not match its schema', retryable: false, httpStatus: 400 },
  MESSAGE_TOO_LARGE: { message: 'message exceeds the payload size limit', retryable: false, httpStatus: 413 },
  TOPIC_INVALID: { message: 'topic is not an mqpay topic', retryable: false, httpStatus: 400 },
  SIGNATURE_INVALID: { message: 'signature does not verify', retryable: false, httpStatus: 400 },
  TOKEN_INVALID: { message: 'connect token is malformed or not for this device and broker', retryable: false, httpStatus: 401 },
  TOKEN_EXPIRED: { message: 'connect token time is outside the accepted window', retryable: true, httpStatus: 401 },
  TOKEN_REPLAYED: { message: 'connect token was already used', retryable: false, httpStatus: 401 },
  NOT_AUTHORIZED: { message: 'not allowed for this client', retryable: false, httpStatus: 401 },
  NOT_FOUND: { message: 'no such resource', retryable: false, httpStatus: 404 },
  MEDIA_TYPE_UNSUPPORTED: { message: 'request body is not application/json', retryable: false, httpStatus: 415 },
  METHOD_NOT_ALLOWED: { message: 'method not allowed on this resource', retryable: false, httpStatus: 405 },
  CHANNEL_UNKNOWN: { message: 'channel does not exist', retryable: false, httpStatus: 404 },
  CHANNEL_CLOSED: { message: 'channel is closed', retryable: false, httpStatus: 409 },
  CHANNEL_EXPIRED: { message: 'channel has expired', retryable: false, httpStatus: 409 },
  CHANNEL_CLOSING: { message: 'channel is closing: its dispute window is open', retryable: false, httpStatus: 409 },
  CHANNEL_NOT_PAYEE: { message: 'only the channel\'s payee may redeem its vouchers', retryable: false, httpStatus: 403 },
  CHANNEL_NOT_PAYER: { message: 'channel belongs to another payer', retryable: false, httpStatus: 403 },
  CHANNEL_LIMIT: { message: 'too many open channels for this device', retryable: false, httpStatus: 409 },
  CHANNEL_SELF: { message: 'a device cannot open a channel to itself', retryable: false, httpStatus: 400 },
  CHANNEL_DURATION_INVALID: { message: 'channel duration is outside the allowed bounds', retryable: false, httpStatus: 400 },
  VOUCHER_SEQ_NOT_INCREASING: { message: 'voucher seq must be greater than the latest accepted seq', retryable: false, httpStatus: 409 },
  VOUCHER_TOTAL_NOT_INCREASING: { message: 'voucher total must be greater than the latest accepted total', retryable: false, httpStatus: 409 },
  VOUCHER_ABOVE_DEPOSIT: { message: 'voucher total exceeds the channel deposit', retryable: false, httpStatus: 409 },
  VOUCHER_EXPIRED: { message: 'voucher has expired', retryable: false, httpStatus: 400 },
  VOUCHER_DOUBLE_SIGNED: { message: 'a different total was already signed for this seq', retryable: false, httpStatus: 409 },
  TICK_CHECKPOINT_UNKNOWN: { message: 'tick names a checkpoint that is not the channel\'s current one', retryable: false, httpStatus: 409 },
  TICK_INDEX_INVALID: { message: 'tick index is not above the last accepted one, or is past the end of the chain', retryable: false, httpStatus: 409 },
  TICK_SKIP_TOO_LARGE: { message: 'tick skips more indices than one check may hash', retryable: false, httpStatus: 409 },
  TICK_PREIMAGE_INVALID: { message: 'tick preimage does not hash to the last accepted link of the chain', retryable: false, httpStatus: 400 },
  TICK_ABOVE_DEPOSIT: { message: 'tick total exceeds the channel deposit', retryable: false, httpStatus: 409 },
  OFFER_EXPIRED: { message: 'offer has expired', retryable: false, httpStatus: 409 },
  OFFER_STALE: { message: 'offer is not newer than the seller\'s current offer', retryable: false, httpStatus: 409 },
  OFFER_SELLER_MISMATCH: { message: 'offer names another seller', retryable: false, httpStatus: 403 },
  RECEIPT_MISMATCH: { message: 'receipt does not match its channel', retryable: false, httpStatus: 400 },
  HOME_EXISTS: { message: 'the agent home already holds an agent', retryable: false, httpStatus: 409 },
  HOME_LOCKED: { message: 'another agent is running on this home', retryable: true, httpStatus: 409 },
  IDEMPOTENCY_CONFLICT: { message: 'the idempotency key was already used for a different request', retryable: false, httpStatus: 409 },
  INSUFFICIENT_FUNDS: { message: 'wallet balance is too low', retryable: false, httpStatus: 409 },
  RESTORE_FUNDS_PENDING: { message: 'the payer\'s wallet cannot cover the restored channel yet (fundings after the backup not replayed); retry later', retryable: true, httpStatus: 409 },
  RATE_LIMITED: { message: 'too many messages from this device; slow down', retryable: true, httpStatus: 429 },
  TOO_MANY_IN_FLIGHT: { message: 'too many requests in flight from this device', retryable: true, httpStatus: 429 },
  POLICY_MAX_PER_PAYMENT: { message: 'payment exceeds the per-payment maximum', retryable: false, httpStatus: 403 },
  POLICY_BUDGET_EXCEEDED: { message: 'payment exceeds a spending budget', retryable: false, httpStatus: 403 },
  POLICY_PAYEE_NOT_ALLOWED: { message: 'payee is not on the allow-list', retryable: false, httpStatus: 403 },
  LIMIT_PER_PAYMENT: { message: 'payment exceeds the device\'s server-side per-payment limit', retryable: false, httpStatus: 403 },
  LIMIT_PER_HOUR: { message: 'payment exceeds the device\'s server-side spending limit over the last hour', retryable: true, httpStatus: 429 },
  LIMIT_PER_DAY: { message: 'payment exceeds the device\'s server-side spending limit over the last day', retryable: true, httpStatus: 429 },
  LIMIT_PAYEE_NOT_ALLOWED: { message: 'payee is not on the device\'s server-side allow-list', retryable: false, httpStatus: 403 },
  LIMIT_DEPOSIT: { message: 'channel deposit exceeds the device\'s server-side daily spending limit', retryable: false, httpStatus: 403 },
  TIMEOUT: { message: 'no answer in time', retryable: true, httpStatus: 503 },
  SERVICE_UNAVAILABLE: { message: 'service is unavailable', retryable: true, httpStatus: 503 },
  INTERNAL: { message: 'internal error', retryable: true, httpStatus: 500 },
} as const satisfies Record<string, ErrorEntry>;

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
