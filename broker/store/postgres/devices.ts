// Devices in the PostgreSQL ledger: enrolment, status, connect-token times, the keys a device
// ever had, its TLS certificate, its server-side limits and spend buckets (the rules of
// broker/store/sqlite/devices.ts, device-keys.ts, device-limits.ts, device-certificates.ts).
import type { Amount } from '../../../shared/amount.js';
import { assert, MqpayError } from '../../../shared/errors.js';
import { bytesEqual } from '../../../shared/hex.js';
import { checkDeviceId } from '../../../shared/ids.js';
import { checkPublicKey } from '../../../shared/keys.js';
import { walletAccount } from '../accounts.js';
import type { DeviceLimits, DeviceRow, SpendBucket } from '../port.js';
import { normalCertificateSha256 } from '../sqlite/device-certificates.js';
import { NO_LIMITS } from '../sqlite/device-limits.js';
import { ensureAccount } from './ledger.js';
import { bytes, changesOf, rowOf, rowsOf, type Queryable } from './pool.js';

export async function getDevice(q: Queryable, id: string): Promise<DeviceRow | null> {
  const row = await rowOf<{ id: string; public_key: Buffer; status: 'active' | 'disabled'; created_at_ms: bigint }>(q,
    'SELECT id, public_key, status, created_at_ms FROM devices WHERE id = $1', [id]);
  return row === null ? null : { id: row.id, publicKey: bytes(row.public_key), status: row.status, createdAtMs: Number(row.created_at_ms) };
}

export async function addDevice(q: Queryable, id: string, publicKey: Uint8Array, nowMs: number): Promise<DeviceRow> {
  checkDeviceId(id);
  checkPublicKey(publicKey);
  if ((await getDevice(q, id)) !== null) throw new MqpayError('DEVICE_EXISTS', id);
  await q.query("INSERT INTO devices (id, public_key, status, created_at_ms) VALUES ($1, $2, 'active', $3)", [id, publicKey, nowMs]);
  await q.query('INSERT INTO device_keys (device, public_key, since_ms) VALUES ($1, $2, $3)', [id, publicKey, nowMs]);
  await ensureAccount(q, walletAccount(id), 'wallet');
  return { id, publicKey, status: 'active', createdAtMs: nowMs };
}

/** A later token time than the last one is recorded; false for a replay (the UPDATE re-checks under the row lock). */
export async function useTokenTime(q: Queryable, id: string, timeMs: bigint): Promise<boolean> {
  return (await changesOf(q, 'UPDATE devices SET last_token_ms = $1 WHERE id = $2 AND last_token_ms < $1', [timeMs, id])) === 1;
}

export async function setDeviceStatus(q: Queryable, id: string, status: 'active' | 'disabled'): Promise<void> {
  if ((await changesOf(q, 'UPDATE devices SET status = $1 WHERE id = $2', [status, id])) === 0) throw new MqpayError('DEVICE_UNKNOWN', id);
}

export async function recordDeviceCertificate(q: Queryable, device: string, sha256: string): Promise<void> {
  await q.query('INSERT INTO device_certificates (device, sha256) VALUES ($1, $2) ON CONFLICT (device) DO UPDATE SET sha256 = excluded.sha256', [device, normalCertificateSha256(sha256)]);
}

export async function keyHolder(q: Queryable, publicKey: Uint8Array): Promise<string | null> {
  const row = await rowOf<{ device: string }>(q, 'SELECT device FROM device_keys WHERE public_key = $1 LIMIT 1', [publicKey]);
  return row?.device ?? null;
}

export async function retiredKeysOf(q: Queryable, device: string, limit: number): Promise<Uint8Array[]> {
  const rows = await rowsOf<{ public_key: Buffer }>(q, 'SELECT public_key FROM device_keys WHERE device = $1 AND retired_at_ms IS NOT NULL ORDER BY retired_at_ms DESC LIMIT $2', [device, limit]);
  return rows.map((row) => bytes(row.public_key));
}

/** Only if the device's key is still `currentKey`, and only with a key no device ever had (as SQLite). */
export async function replaceDeviceKey(q: Queryable, device: string, currentKey: Uint8Array, newKey: Uint8Array, nowMs: number): Promise<void> {
  const holder = await keyHolder(q, newKey);
  if (holder !== null) {
    const why = holder !== device ? 'another device has or had that key' : bytesEqual(newKey, currentKey) ? 'it is the device\'s current key' : 'the device had that key before';
    throw new MqpayError('KEY_REUSED', why);
  }
  if ((await changesOf(q, 'UPDATE devices SET public_key = $1 WHERE id = $2 AND public_key = $3', [newKey, device, currentKey])) !== 1) {
    throw new MqpayError('KEY_ROTATION_INVALID', 'the device\'s key changed meanwhile');
  }
  const retired = await changesOf(q, 'UPDATE device_keys SET retired_at_ms = $1 WHERE device = $2 AND public_key = $3 AND retired_at_ms IS NULL', [nowMs, device, currentKey]);
  assert(retired === 1, 'the replaced key was the device\'s one current key');
  await q.query('INSERT INTO device_keys (device, public_key, since_ms) VALUES ($1, $2, $3)', [device, newKey, nowMs]);
}

export async function getDeviceLimits(q: Queryable, device: string): Promise<DeviceLimits> {
  const row = await rowOf<{ max_per_payment: bigint | null; max_per_hour: bigint | null; max_per_day: bigint | null; allow_payees: unknown }>(q,
    'SELECT max_per_payment, max_per_hour, max_per_day, allow_payees FROM device_limits WHERE device = $1', [device]);
  if (row === null) return NO_LIMITS;
  const list = row.allow_payees;
  assert(list === null || (Array.isArray(list) && list.every((entry) => typeof entry === 'string')), 'allow_payees is a JSON array of device ids');
  return {
    maxPerPayment: row.max_per_payment as Amount | null, maxPerHour: row.max_per_hour as Amount | null, maxPerDay: row.max_per_day as Amount | null,
    allowPayees: list === null ? null : Object.freeze([...(list as string[])]),
  };
}

export async function setDeviceLimits(q: Queryable, device: string, limits: DeviceLimits, nowMs: number): Promise<void> {
  if ((await getDevice(q, device)) === null) throw new MqpayError('DEVICE_UNKNOWN', device);
  const changed = await changesOf(q, `INSERT INTO device_limits (device, max_per_payment, max_per_hour, max_per_day, allow_payees, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (device) DO UPDATE SET max_per_payment = excluded.max_per_payment, max_per_hour = excluded.max_per_hour,
       max_per_day = excluded.max_per_day, allow_payees = excluded.allow_payees, version = device_limits.version + 1, updated_at_ms = excluded.updated_at_ms`,
  [device, limits.maxPerPayment, limits.maxPerHour, limits.maxPerDay, limits.allowPayees === null ? null : JSON.stringify(limits.allowPayees), nowMs]);
  assert(changed === 1, 'one limits row written');
}

export async function spendBuckets(q: Queryable, device: string, fromMinute: number): Promise<SpendBucket[]> {
  const rows = await rowsOf<{ minute: bigint; amount: bigint }>(q, 'SELECT minute, amount FROM device_spend WHERE device = $1 AND minute >= $2 ORDER BY minute', [device, fromMinute]);
  return rows.map((row) => ({ minute: Number(row.minute), amount: row.amount as Amount }));
}

/** One atomic upsert: two workers adding to one bucket both count. */
export async function addSpend(q: Queryable, device: string, minute: number, amount: Amount): Promise<void> {
  assert(amount > 0n, 'a spend is positive');
  const changed = await changesOf(q, 'INSERT INTO device_spend (device, minute, amount) VALUES ($1, $2, $3) ON CONFLICT (device, minute) DO UPDATE SET amount = device_spend.amount + excluded.amount',
    [device, minute, amount]);
  assert(changed === 1, 'one spend bucket written');
}

export function pruneSpend(q: Queryable, beforeMinute: number): Promise<number> {
  return changesOf(q, 'DELETE FROM device_spend WHERE minute < $1', [beforeMinute]);
}
