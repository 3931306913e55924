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
  return loadOrCreateServiceKeyFile(join(dataDir, SERVICE_KEY_FILE), random, join(dataDir, SERVICE_PUBLIC_KEY_FILE));
}

/**
 * The key in `path` (hex seed), created when absent; with `publicPath`, a new key's public half is
 * written there too. Processes of one cluster share the file: one that loses the race to create
 * it reads the winner's.
 */
export function loadOrCreateServiceKeyFile(path: string, random: RandomBytes, publicPath?: string): KeyPair {
  if (existsSync(path)) return readServiceKey(path);
  const pair = generateKeyPair(random);
  try {
    writeFileSync(path, `${toHex(pair.secretKey)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readServiceKey(path);
    throw error;
  }
  if (publicPath !== undefined) writeFileSync(publicPath, `${toHex(pair.publicKey)}\n`);
  return pair;
}

function readServiceKey(path: string): KeyPair {
  const secretKey = fromHex(readFileSync(path, 'utf8').trim(), SECRET_KEY_BYTES);
  return { secretKey, publicKey: defaultBackend.publicKeyOf(secretKey) };
}
