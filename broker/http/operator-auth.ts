// The operator token check. `Authorization: Bearer <token>`; the live-event stream alone also
// takes `?token=` because a browser EventSource cannot send headers. Compared in constant time
// with `tokenMatches` (broker/operator-token.ts), the same check MQTT operator logins use.
import type { IncomingMessage } from 'node:http';

/** The presented token: the bearer header, else (when allowed) the `token` query parameter. */
export function presentedToken(request: IncomingMessage, url: URL, allowQuery: boolean): string | null {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer +(\S+) *$/i.exec(header);
    return match?.[1] ?? null;
  }
  return allowQuery ? url.searchParams.get('token') : null;
}
