// A key rotation in progress, kept durably in the home [docs/DESIGN.md rule 12]. The new key and
// the exact signed request are written (and fsynced) to `key.pending` BEFORE the request is sent,
// and the old key stays in `key` until the service's answer (or, after a crash, the broker
// accepting the new key) confirms the switch. The switch replaces `key` by an atomic rename,
// then removes `key.pending`; a crash between the two leaves a pending key equal to the current
// one, which the next start simply removes.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defaultBackend } from '../../shared/crypto.js';
import { MqpayError } from '../../shared/errors.js';
import { fromHex, toHex } from '../../shared/hex.js';
import type { KeyPair } from '../../shared/keys.js';
import { SECRET_KEY_BYTES, SIGNATURE_BYTES } from '../../shared/limits.js';
import { KEY_ROTATION_BYTES } from '../../shared/key-rotation.js';
import { KEY_FILE_MODE } from './key-file.js';

export const PENDING_KEY_FILE = 'key.pending';
const KEY_FILE = 'key';
/** Permission bits that would let another user read or change the key. */
const FOREIGN_ACCESS_BITS = 0o077;

export interface PendingRotation {
  readonly keys: KeyPair;
  /** The request id and params exactly as sent, so a retry gets the service's stored answer. */
  readonly requestId: string;
  readonly params: { readonly rotation: string; readonly signature: string; readonly newSignature: string };
}

/** Writes `text` to `path` through a temporary file: fsync, rename, fsync the directory. */
function writeDurably(path: string, text: string): void {
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w', KEY_FILE_MODE);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  syncDirectory(dirname(path));
}

function syncDirectory(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writePendingRotation(home: string, pending: PendingRotation): void {
  const path = join(home, PENDING_KEY_FILE);
  if (existsSync(path)) throw new MqpayError('KEY_ROTATION_INVALID', `a rotation is already pending in ${path}`);
  writeDurably(path, `${JSON.stringify({ secretKey: toHex(pending.keys.secretKey), requestId: pending.requestId, ...pending.params })}\n`);
}

export function readPendingRotation(home: string): PendingRotation | null {
  const path = join(home, PENDING_KEY_FILE);
  if (!existsSync(path)) return null;
  if ((statSync(path).mode & FOREIGN_ACCESS_BITS) !== 0) throw new MqpayError('KEY_INVALID', `${path} is accessible to other users; run chmod 600 on it`);
  try {
    const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
    const secretKey = fromHex(String(json.secretKey), SECRET_KEY_BYTES);
    fromHex(String(json.rotation), KEY_ROTATION_BYTES);
    fromHex(String(json.signature), SIGNATURE_BYTES);
    fromHex(String(json.newSignature), SIGNATURE_BYTES);
    return {
      keys: { secretKey, publicKey: defaultBackend.publicKeyOf(secretKey) },
      requestId: String(json.requestId),
      params: { rotation: String(json.rotation), signature: String(json.signature), newSignature: String(json.newSignature) },
    };
  } catch {
    throw new MqpayError('KEY_INVALID', `${path} does not hold a pending key rotation`);
  }
}

/** The switch: the pending key becomes `key` (atomically), then the pending file goes. */
export function completePendingRotation(home: string, keys: KeyPair): void {
  writeDurably(join(home, KEY_FILE), `${toHex(keys.secretKey)}\n`);
  discardPendingRotation(home);
}

/** Forgets a rotation the service refused (or that never happened): the old key stays. */
export function discardPendingRotation(home: string): void {
  rmSync(join(home, PENDING_KEY_FILE), { force: true });
  syncDirectory(home);
}
