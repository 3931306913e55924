// The operator token check. `Authorization: Bearer <token>`; the live-event stream alone also
// takes `?token=` because a browser EventSource cannot send headers. Compared in constant time
// over SHA-256 digests, so neither the token's content nor its length leaks through timing.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

export function tokenMatches(presented: string | null, expected: string): boolean {
  if (presented === null) return false;
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The presented token: the bearer header, else (when allowed) the `token` query parameter. */
export function presentedToken(request: IncomingMessage, url: URL, allowQuery: boolean): string | null {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer +(\S+) *$/i.exec(header);
    return match?.[1] ?? null;
  }
  return allowQuery ? url.searchParams.get('token') : null;
}
