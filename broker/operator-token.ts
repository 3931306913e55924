// The operator token: from --operator-token, else MQPAY_OPERATOR_TOKEN, else the data
// directory's `operator.token` (created on first start, mode 0600).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../shared/hex.js';
import type { RandomBytes } from '../shared/ids.js';

export const OPERATOR_TOKEN_FILE = 'operator.token';

export function resolveOperatorToken(dataDir: string, explicit: string | undefined, random: RandomBytes): string {
  if (explicit !== undefined && explicit !== '') return explicit;
  const fromEnv = process.env.MQPAY_OPERATOR_TOKEN;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const path = join(dataDir, OPERATOR_TOKEN_FILE);
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const token = toHex(random(24));
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  return token;
}
