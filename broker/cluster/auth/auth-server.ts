// The HTTP server RabbitMQ's auth backend asks (rabbitmq_auth_backend_http, `auth_http.*_path`):
// POST /auth/user, /auth/vhost, /auth/resource, /auth/topic with a form body, answered `allow` or
// `deny` (200, text/plain), and GET /metrics (Prometheus, auth-metrics.ts). Anything else is
// 404; a body too large, malformed or too slow is a `deny`. It listens on loopback by default: RabbitMQ's backend sends no credentials of its own,
// so whoever can reach this port can ask it questions (it grants nothing by itself).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AUTH_BODY_BYTES_MAX, AUTH_REQUEST_TIMEOUT_MS } from '../../limits.js';
import { AUTH_CHECKS, runAuthCheck, type AuthCheck, type AuthCheckDeps } from './auth-checks.js';
import { createAuthMetrics, type AuthMetrics } from './auth-metrics.js';
import { parseFormBody } from './form-body.js';

/** The path prefix RabbitMQ's config points at (rabbit-config.ts appends /user, /vhost, ...). */
export const AUTH_PATH_PREFIX = '/auth';

function checkOf(request: IncomingMessage): AuthCheck | null {
  if (request.method !== 'POST' || request.url === undefined) return null;
  const path = request.url.split('?')[0]!;
  const check = path.startsWith(`${AUTH_PATH_PREFIX}/`) ? path.slice(AUTH_PATH_PREFIX.length + 1) : '';
  return (AUTH_CHECKS as readonly string[]).includes(check) ? (check as AuthCheck) : null;
}

function readBody(request: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    request.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > AUTH_BODY_BYTES_MAX) {
        reject(new Error(`body over ${AUTH_BODY_BYTES_MAX} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.once('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    request.once('error', reject);
  });
}

const answer = (response: ServerResponse, allowed: boolean): void => {
  response.writeHead(200, { 'content-type': 'text/plain' }).end(allowed ? 'allow' : 'deny');
};

async function serveMetrics(metrics: AuthMetrics, response: ServerResponse): Promise<void> {
  const text = await metrics.registry.metrics();
  response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text);
}

async function handle(deps: AuthCheckDeps, metrics: AuthMetrics, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method === 'GET' && request.url === '/metrics') return serveMetrics(metrics, response);
  const check = checkOf(request);
  if (check === null) {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  let allowed = false;
  try {
    allowed = await runAuthCheck(deps, check, parseFormBody(await readBody(request)));
  } catch (error) {
    deps.logger.warn({ check, err: error instanceof Error ? error.message : String(error) }, 'auth request refused: unreadable');
  }
  metrics.observe(check, allowed);
  if (!response.headersSent) answer(response, allowed);
}

export interface AuthServer {
  readonly url: string;
  readonly port: number;
  /** The base URL RabbitMQ's `auth_http.*_path` settings are built on. */
  readonly baseUrl: string;
  close(): Promise<void>;
}

export function startAuthServer(deps: AuthCheckDeps, listen: { port: number; host?: string }): Promise<AuthServer> {
  const host = listen.host ?? '127.0.0.1';
  const metrics = createAuthMetrics(deps.telemetry);
  const server: Server = createServer((request, response) => void handle(deps, metrics, request, response));
  server.requestTimeout = AUTH_REQUEST_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, host, () => {
      const { port } = server.address() as AddressInfo;
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      resolve({
        url, port, baseUrl: `${url}${AUTH_PATH_PREFIX}`,
        close: () => new Promise((done) => {
          server.close(() => done());
          server.closeAllConnections();
        }),
      });
    });
  });
}
