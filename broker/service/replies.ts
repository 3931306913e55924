// Builders for the service's replies, so every handler answers in the same shape. The wire form
// of an error ({ code, message, detail?, retryable }) is shared/schemas.ts's errorBody.
import { MqpayError } from '../../shared/errors.js';
import { encodePayload, errorBody, type ErrorBody } from '../../shared/schemas.js';

export { errorBody };

/** Maps anything thrown to a wire error; unknown errors become INTERNAL (and are logged by the caller). */
export function errorBodyOf(error: unknown): ErrorBody {
  if (error instanceof MqpayError) return errorBody(error.code, error.detail);
  return errorBody('INTERNAL');
}

export const payloadOf = encodePayload;
