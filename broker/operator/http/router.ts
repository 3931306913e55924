// Serves the route table: match the path (404), then the method (405 with Allow), check the
// operator token (401), read and validate params, query and body with the route's zod schemas
// (400/413/415), run the handler, and answer JSON, raw bytes, or leave a stream open. Anything a
// handler throws becomes problem+json with a stable code; unexpected errors are logged as 500.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type * as z from 'zod';
import { HTTP_BODY_BYTES_MAX } from '../../limits.js';
import type { OperatorContext } from './operator-context.js';
import type { TLSSocket } from 'node:tls';
import { tokenMatches } from '../operator-token.js';
import { HttpProblem, problemOf, sendProblem } from './problem.js';
import { readJsonBody } from './request-body.js';
import type { Reply, Route } from './route.js';
import { matchPath, compilePath, type CompiledPath } from './path-pattern.js';

interface Compiled {
  readonly route: Route;
  readonly pattern: CompiledPath;
}

const UNAUTHORIZED = new HttpProblem('NOT_AUTHORIZED', 'send Authorization: Bearer <operator token>', { 'www-authenticate': 'Bearer realm="mqpay"' });

/**
 * The presented operator token: `Authorization: Bearer <token>`, else (when allowed) the `token`
 * query parameter: the live-event stream alone takes `?token=` because a browser EventSource
 * cannot send headers. Compared in constant time with `tokenMatches` (../operator-token.ts), the
 * same check MQTT operator logins use.
 */
function presentedToken(request: IncomingMessage, url: URL, allowQuery: boolean): string | null {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer +(\S+) *$/i.exec(header);
    return match?.[1] ?? null;
  }
  return allowQuery ? url.searchParams.get('token') : null;
}

export type Handler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

export function createRouter(routes: readonly Route[], ops: OperatorContext): Handler {
  const compiled: Compiled[] = routes.map((route) => ({ route, pattern: compilePath(route.path) }));
  return async (request, response) => {
    const method = request.method ?? 'GET';
    const startedMs = performance.now();
    // Metrics label: the route template (bounded), never the raw URL.
    let label = 'unmatched';
    try {
      const url = requestUrl(request);
      const onPath = compiled.map((entry) => ({ route: entry.route, raw: matchPath(entry.pattern, url.pathname) })).filter((hit) => hit.raw !== null);
      label = onPath[0]?.route.path ?? label;
      const hit = onPath.find((candidate) => candidate.route.method === method);
      if (onPath.length === 0) throw new HttpProblem('NOT_FOUND', `no route ${url.pathname}`);
      if (hit === undefined || hit.raw === null) {
        const allow = onPath.map((candidate) => candidate.route.method).join(', ');
        throw new HttpProblem('METHOD_NOT_ALLOWED', `${method} ${url.pathname}; allowed: ${allow}`, { allow });
      }
      send(response, await run(hit.route, hit.raw, url, request, response, ops));
    } catch (error) {
      answerError(ops, response, error, method, label);
    } finally {
      ops.metrics.observeHttp(label, method, response.statusCode, (performance.now() - startedMs) / 1000);
    }
  };
}

/** The request target as a URL; origin-form ("/path?q") is never read as "//host/path". */
function requestUrl(request: IncomingMessage): URL {
  const target = request.url ?? '/';
  try {
    return target.startsWith('/') ? new URL(`http://operator.invalid${target}`) : new URL(target);
  } catch {
    throw new HttpProblem('MESSAGE_INVALID', 'request target is not a valid URL');
  }
}

async function run(route: Route, raw: Record<string, string>, url: URL, request: IncomingMessage, response: ServerResponse, ops: OperatorContext): Promise<Reply> {
  if (route.access === 'operator' && !tokenMatches(presentedToken(request, url, route.tokenInQuery === true), ops.app.config.operatorToken)) throw UNAUTHORIZED;
  // --operator-client-cert: the token alone is not enough; the TLS peer must hold a certificate from the client CA.
  if (route.access === 'operator' && ops.app.config.operatorClientCert && !(request.socket as TLSSocket).authorized) throw new HttpProblem('NOT_AUTHORIZED', 'the operator API requires a client certificate from the configured client CA');
  const params = validate(route.params, raw, 'path');
  const query = validate(route.query, Object.fromEntries(url.searchParams), 'query');
  const body = route.body === null ? undefined : validate(route.body, (await readJsonBody(request, HTTP_BODY_BYTES_MAX)) ?? {}, 'body');
  return route.handle({ ops, params, query, body, request, response });
}

/** zod issues become 400 MESSAGE_INVALID; a domain check inside a schema throws its own code. */
function validate<S extends z.ZodType>(schema: S, input: unknown, where: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue === undefined || issue.path.length === 0 ? where : `${where}.${issue.path.join('.')}`;
  throw new HttpProblem('MESSAGE_INVALID', `${path}: ${issue?.message ?? 'invalid'}`);
}

function send(response: ServerResponse, reply: Reply): void {
  if (reply.kind === 'streaming') return;
  if (reply.kind === 'raw') {
    response.writeHead(reply.status, { ...reply.headers, 'content-type': reply.contentType, 'content-length': Buffer.byteLength(reply.body) });
    response.end(reply.body);
    return;
  }
  const body = JSON.stringify(reply.body);
  response.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  response.end(body);
}

function answerError(ops: OperatorContext, response: ServerResponse, error: unknown, method: string | undefined, route: string): void {
  const problem = problemOf(error);
  if (problem === null) ops.logger.error({ err: error, method, route }, 'operator API request failed');
  if (response.headersSent) {
    response.destroy();
    return;
  }
  sendProblem(response, problem ?? new HttpProblem('INTERNAL'));
}
