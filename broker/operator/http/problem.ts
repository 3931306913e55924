// Errors as RFC 9457 problem details (application/problem+json), always carrying one of the
// stable codes of shared/errors.ts, so HTTP clients branch on `code` exactly like MQTT clients.
import type { ServerResponse } from 'node:http';
import { ERRORS, MqpayError, type ErrorCode } from '../../../shared/errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** An error with an HTTP status; anything else thrown by a route maps through statusOf(). */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail === undefined ? ERRORS[code].message : `${ERRORS[code].message}: ${detail}`);
  }
}

export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: ErrorCode;
  readonly detail: string;
  readonly retryable: boolean;
}

const STATUS_OF_CODE: Partial<Record<ErrorCode, number>> = {
  NOT_FOUND: 404,
  DEVICE_UNKNOWN: 404,
  CHANNEL_UNKNOWN: 404,
  DEVICE_EXISTS: 409,
  IDEMPOTENCY_CONFLICT: 409,
  CHANNEL_CLOSED: 409,
  NOT_AUTHORIZED: 401,
  METHOD_NOT_ALLOWED: 405,
  MESSAGE_TOO_LARGE: 413,
  SERVICE_UNAVAILABLE: 503,
  TIMEOUT: 503,
  INTERNAL: 500,
};

/** Domain errors are the caller's fault (400) unless the registry says otherwise above. */
export function statusOf(code: ErrorCode): number {
  return STATUS_OF_CODE[code] ?? 400;
}

export function problemOf(error: unknown): HttpProblem | null {
  if (error instanceof HttpProblem) return error;
  if (error instanceof MqpayError) return new HttpProblem(statusOf(error.code), error.code, error.detail);
  return null;
}

export function problemBody(problem: HttpProblem): ProblemBody {
  const entry = ERRORS[problem.code];
  return { type: `urn:mqpay:error:${problem.code}`, title: entry.message, status: problem.status, code: problem.code, detail: (problem.detail ?? entry.message).slice(0, 512), retryable: entry.retryable };
}

export function sendProblem(response: ServerResponse, problem: HttpProblem): void {
  const body = JSON.stringify(problemBody(problem));
  response.writeHead(problem.status, { ...problem.headers, 'content-type': PROBLEM_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  response.end(body);
}
