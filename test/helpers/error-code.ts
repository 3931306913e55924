// The stable error code a call fails with, or 'no error': lets a test assert the code itself.
import { MqpayError, type ErrorCode } from '../../shared/errors.js';

export function errorCode(run: () => unknown): ErrorCode | 'no error' {
  try {
    run();
  } catch (error) {
    if (!(error instanceof MqpayError)) throw error;
    return error.code;
  }
  return 'no error';
}
