// The operator token: from --operator-token, else MQPAY_OPERATOR_TOKEN, else the data
// directory's `operator.token` (created on first start, mode 0600).
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../../shared/hex.js';
import type { RandomBytes } from '../../shared/ids.js';

export const OPERATOR_TOKEN_FILE = 'operator.token';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * The one operator token check (HTTP bearer and MQTT operator login): constant time over
 * SHA-256 digests, so neither the token's content nor its length leaks through timing.
 */
export function tokenMatches(presented: string | null, expected: string): boolean {
  if (presented === null) return false;
  return timingSafeEqual(digest(presented), digest(expected));
}

/** `fromEnv` is $MQPAY_OPERATOR_TOKEN of the command's environment (passed in: commands also run in-process). */
export function resolveOperatorToken(dataDir: string, explicit: string | undefined, fromEnv: string | undefined, random: RandomBytes): string {
  if (explicit !== undefined && explicit !== '') return explicit;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const path = join(dataDir, OPERATOR_TOKEN_FILE);
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const token = toHex(random(24));
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  return token;
}
