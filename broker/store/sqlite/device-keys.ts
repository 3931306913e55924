// Every key a device ever had [docs/DESIGN.md rule 12]. The device row holds the current key;
// `device_keys` holds the history, so a rotation can refuse a key used before (by this device or
// another) and a voucher or token signed with a retired key can be told apart from a forgery.
import { assert, MqpayError } from '../../../shared/errors.js';
import { bytesEqual } from '../../../shared/hex.js';
import { statement } from '../../../sqlite/statement.js';
import type { Db } from './open-database.js';

/** Records an enrolled device's first key, inside the enrolment's transaction. */
export function recordEnrolledKey(db: Db, device: string, publicKey: Uint8Array, nowMs: number): void {
  statement(db, 'INSERT INTO device_keys (device, public_key, since_ms) VALUES (?, ?, ?)').run(device, publicKey, BigInt(nowMs));
}

/** The device that has or had `publicKey`, or null when no device ever had it. */
export function keyHolder(db: Db, publicKey: Uint8Array): string | null {
  const row = statement(db, 'SELECT device FROM device_keys WHERE public_key = ? LIMIT 1').get(publicKey) as { device: string } | undefined;
  return row === undefined ? null : row.device;
}

/** The device's retired keys, most recently retired first, at most `limit`. */
export function retiredKeysOf(db: Db, device: string, limit: number): Uint8Array[] {
  const rows = statement(db, 'SELECT public_key FROM device_keys WHERE device = ? AND retired_at_ms IS NOT NULL ORDER BY retired_at_ms DESC LIMIT ?')
    .all(device, BigInt(limit)) as { public_key: Buffer }[];
  return rows.map((row) => new Uint8Array(row.public_key));
}

function reuseOf(holder: string, device: string, current: boolean): string {
  if (holder !== device) return 'another device has or had that key';
  return current ? 'it is the device\'s current key' : 'the device had that key before';
}

/**
 * Replaces the device's key, inside the caller's transaction: only if its key is still
 * `currentKey` (a rotation racing another one loses), and only with a key no device ever had.
 */
export function replaceDeviceKey(db: Db, device: string, currentKey: Uint8Array, newKey: Uint8Array, nowMs: number): void {
  const holder = keyHolder(db, newKey);
  if (holder !== null) throw new MqpayError('KEY_REUSED', reuseOf(holder, device, bytesEqual(newKey, currentKey)));
  const changed = statement(db, 'UPDATE devices SET public_key = ? WHERE id = ? AND public_key = ?').run(newKey, device, currentKey).changes;
  if (changed !== 1) throw new MqpayError('KEY_ROTATION_INVALID', 'the device\'s key changed meanwhile');
  const retired = statement(db, 'UPDATE device_keys SET retired_at_ms = ? WHERE device = ? AND public_key = ? AND retired_at_ms IS NULL').run(BigInt(nowMs), device, currentKey).changes;
  assert(retired === 1, 'the replaced key was the device\'s one current key');
  statement(db, 'INSERT INTO device_keys (device, public_key, since_ms) VALUES (?, ?, ?)').run(device, newKey, BigInt(nowMs));
}
