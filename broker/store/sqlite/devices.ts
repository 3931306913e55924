// Enrolled devices: id, public key (checked at enrolment), active or disabled.
import { checkDeviceId } from '../../../shared/ids.js';
import { checkPublicKey } from '../../../shared/keys.js';
import { MqpayError } from '../../../shared/errors.js';
import type { Db } from './open-database.js';
import { statement } from '../../../sqlite/statement.js';
import { ensureAccount } from './ledger.js';
import { walletAccount } from '../accounts.js';
import type { DeviceRow } from '../port.js';
import { recordEnrolledKey } from './device-keys.js';


function toDevice(row: { id: string; public_key: Buffer; status: 'active' | 'disabled'; created_at_ms: bigint }): DeviceRow {
  return { id: row.id, publicKey: new Uint8Array(row.public_key), status: row.status, createdAtMs: Number(row.created_at_ms) };
}

/** Enrols a device and opens its wallet, inside the caller's transaction. Refuses bad ids, bad keys and duplicates. */
export function addDeviceInTransaction(db: Db, id: string, publicKey: Uint8Array, nowMs: number): DeviceRow {
  checkDeviceId(id);
  checkPublicKey(publicKey);
  if (getDevice(db, id) !== null) throw new MqpayError('DEVICE_EXISTS', id);
  statement(db, 'INSERT INTO devices (id, public_key, status, created_at_ms) VALUES (?, ?, ?, ?)').run(id, publicKey, 'active', BigInt(nowMs));
  recordEnrolledKey(db, id, publicKey, nowMs);
  ensureAccount(db, walletAccount(id), 'wallet');
  return { id, publicKey, status: 'active' as const, createdAtMs: nowMs };
}

/** Enrolment as its own transaction, for callers that hold the database file (admin CLI, tests). */
export function addDevice(db: Db, id: string, publicKey: Uint8Array, nowMs: number): DeviceRow {
  checkDeviceId(id);
  checkPublicKey(publicKey);
  return db.transaction(() => addDeviceInTransaction(db, id, publicKey, nowMs)).immediate();
}

export function getDevice(db: Db, id: string): DeviceRow | null {
  const row = statement(db, 'SELECT id, public_key, status, created_at_ms FROM devices WHERE id = ?').get(id) as Parameters<typeof toDevice>[0] | undefined;
  return row === undefined ? null : toDevice(row);
}

/**
 * Records a connect token's time if it is later than the last one accepted for the device;
 * false for a token that is not (a replay, or an older token).
 */
export function useTokenTime(db: Db, id: string, timeMs: bigint): boolean {
  return statement(db, 'UPDATE devices SET last_token_ms = ? WHERE id = ? AND last_token_ms < ?').run(timeMs, id, timeMs).changes === 1;
}

export function setDeviceStatus(db: Db, id: string, status: 'active' | 'disabled'): void {
  const result = statement(db, 'UPDATE devices SET status = ? WHERE id = ?').run(status, id);
  if (result.changes === 0) throw new MqpayError('DEVICE_UNKNOWN', id);
}
