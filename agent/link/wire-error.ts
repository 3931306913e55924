// Errors that arrive on the wire ({ code, message, retryable }) back into MqpayError, keeping
// the service's detail but not repeating the registry's message in front of it.
import { ERRORS, MqpayError, isErrorCode } from '../../shared/errors.js';

export function errorFromWire(body: { readonly code: string; readonly message: string }): MqpayError {
  if (!isErrorCode(body.code)) return new MqpayError('INTERNAL', `${body.code}: ${body.message}`);
  const prefix = ERRORS[body.code].message;
  if (body.message === prefix) return new MqpayError(body.code);
  const detail = body.message.startsWith(`${prefix}: `) ? body.message.slice(prefix.length + 2) : body.message;
  return new MqpayError(body.code, detail);
}
