// Errors as RFC 9457 problem details (application/problem+json), always carrying one of the
// stable codes of shared/errors.ts, so HTTP clients branch on `code` exactly like MQTT clients.
import type { ServerResponse } from 'node:http';
import { ERRORS, MqpayError, type ErrorCode } from '../../../shared/errors.js';
import { ERROR_TEXT_MAX } from '../../../shared/limits.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** An error answered as problem+json; its HTTP status is the registry's for its code. */
export class HttpProblem extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail === undefined ? ERRORS[code].message : `${ERRORS[code].message}: ${detail}`);
    this.status = ERRORS[code].httpStatus;
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

export function problemOf(error: unknown): HttpProblem | null {
  if (error instanceof HttpProblem) return error;
  if (error instanceof MqpayError) return new HttpProblem(error.code, error.detail);
  return null;
}

export function problemBody(problem: HttpProblem): ProblemBody {
  const entry = ERRORS[problem.code];
  return { type: `urn:mqpay:error:${problem.code}`, title: entry.message, status: problem.status, code: problem.code, detail: (problem.detail ?? entry.message).slice(0, ERROR_TEXT_MAX), retryable: entry.retryable };
}

export function sendProblem(response: ServerResponse, problem: HttpProblem): void {
  const body = JSON.stringify(problemBody(problem));
  response.writeHead(problem.status, { ...problem.headers, 'content-type': PROBLEM_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  response.end(body);
}
