// The device's secret key: its 32-byte ed25519 seed as hex in its own file, mode 0600. Never
// logged, never in the config file, never in the state database.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { defaultBackend } from '../../shared/crypto.js';
import { MqpayError } from '../../shared/errors.js';
import { fromHex, toHex } from '../../shared/hex.js';
import type { KeyPair } from '../../shared/keys.js';
import { SECRET_KEY_BYTES } from '../../shared/limits.js';

export const KEY_FILE_MODE = 0o600;
/** Permission bits that would let another user read or change the key. */
const FOREIGN_ACCESS_BITS = 0o077;

/** Writes a new key file; refuses to overwrite an existing one (that would lose a wallet). */
export function writeKeyFile(path: string, secretKey: Uint8Array): void {
  if (secretKey.length !== SECRET_KEY_BYTES) throw new MqpayError('KEY_INVALID', `secret key must be ${SECRET_KEY_BYTES} bytes`);
  try {
    writeFileSync(path, `${toHex(secretKey)}\n`, { mode: KEY_FILE_MODE, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new MqpayError('HOME_EXISTS', `a key already exists at ${path}`);
    throw error;
  }
}

export function readKeyFile(path: string): KeyPair {
  const mode = statSync(path).mode;
  if ((mode & FOREIGN_ACCESS_BITS) !== 0) {
    throw new MqpayError('KEY_INVALID', `${path} is accessible to other users (mode ${(mode & 0o777).toString(8)}); run chmod 600 on it`);
  }
  const text = readFileSync(path, 'utf8').trim();
  let secretKey: Uint8Array;
  try {
    secretKey = fromHex(text, SECRET_KEY_BYTES);
  } catch {
    throw new MqpayError('KEY_INVALID', `${path} does not hold a ${SECRET_KEY_BYTES}-byte hex key`);
  }
  return { secretKey, publicKey: defaultBackend.publicKeyOf(secretKey) };
}
