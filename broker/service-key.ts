// The service's own ed25519 key, which signs channel certificates. Kept in the data directory
// (seed in `service.key`, mode 0600; public key in `service.pub` for payees to pin).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex, toHex } from '../shared/hex.js';
import type { RandomBytes } from '../shared/ids.js';
import { generateKeyPair, type KeyPair } from '../shared/keys.js';
import { defaultBackend } from '../shared/crypto.js';
import { SECRET_KEY_BYTES } from '../shared/limits.js';

export const SERVICE_KEY_FILE = 'service.key';
export const SERVICE_PUBLIC_KEY_FILE = 'service.pub';

export function loadOrCreateServiceKey(dataDir: string, random: RandomBytes): KeyPair {
  const path = join(dataDir, SERVICE_KEY_FILE);
  if (existsSync(path)) {
    const secretKey = fromHex(readFileSync(path, 'utf8').trim(), SECRET_KEY_BYTES);
    return { secretKey, publicKey: defaultBackend.publicKeyOf(secretKey) };
  }
  const pair = generateKeyPair(random);
  writeFileSync(path, `${toHex(pair.secretKey)}\n`, { mode: 0o600, flag: 'wx' });
  writeFileSync(join(dataDir, SERVICE_PUBLIC_KEY_FILE), `${toHex(pair.publicKey)}\n`);
  return pair;
}
