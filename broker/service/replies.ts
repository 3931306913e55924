// Builders for the service's replies, so every handler answers in the same shape.
import { ERRORS, MqpayError, type ErrorCode } from '../../shared/errors.js';
import { encodePayload, type ErrorBody } from '../../shared/schemas.js';

export function errorBody(code: ErrorCode, detail?: string): ErrorBody {
  const entry = ERRORS[code];
  const message = detail === undefined ? entry.message : `${entry.message}: ${detail}`;
  return { code, message: message.slice(0, 512), retryable: entry.retryable };
}

/** Maps anything thrown to a wire error; unknown errors become INTERNAL (and are logged by the caller). */
export function errorBodyOf(error: unknown): ErrorBody {
  if (error instanceof MqpayError) return errorBody(error.code, error.detail);
  return errorBody('INTERNAL');
}

export const payloadOf = encodePayload;
