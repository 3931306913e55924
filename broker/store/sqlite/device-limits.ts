// Server-side spending limits of one device, and the per-minute spend buckets of its vouchers
// [docs/DESIGN.md rule 12]. Limits are written by an operator (the API through the service, or
// `mqpay device limits --data` beside a running broker) and read from here on every channel open,
// top-up and voucher (the voucher path through ./device-limits-cache.ts), so a write from another
// process counts at once. Spend buckets are written
// only by the service, inside the group commit that accepts the voucher.
import type { Amount } from '../../../shared/amount.js';
import { assert, MqpayError } from '../../../shared/errors.js';
import { statement } from '../../../sqlite/statement.js';
import type { DeviceLimits, SpendBucket } from '../port.js';
import { forgetDeviceLimits } from './device-limits-cache.js';
import { getDevice } from './devices.js';
import type { Db } from './open-database.js';

interface RawLimits {
  max_per_payment: bigint | null;
  max_per_hour: bigint | null;
  max_per_day: bigint | null;
  has_list: bigint;
  version: bigint;
}

export const NO_LIMITS: DeviceLimits = Object.freeze({ maxPerPayment: null, maxPerHour: null, maxPerDay: null, allowPayees: null });

/**
 * Parsed allow-lists by connection and device, with the row version they were read at: the
 * voucher path reads limits on every voucher, and re-reads (and re-parses) a list of up to
 * ALLOW_PAYEES_MAX ids only when its row changed. The same list object goes to the service,
 * which keeps a Set per list object.
 */
const parsedLists = new WeakMap<Db, Map<string, { readonly version: bigint; readonly list: readonly string[] }>>();
/** Past this many devices the parsed lists are dropped and read again on use. */
const PARSED_LISTS_MAX = 10_000;

function allowListOf(db: Db, device: string, version: bigint): readonly string[] {
  let byDevice = parsedLists.get(db);
  if (byDevice === undefined) {
    byDevice = new Map();
    parsedLists.set(db, byDevice);
  }
  const known = byDevice.get(device);
  if (known !== undefined && known.version === version) return known.list;
  const row = statement(db, 'SELECT allow_payees FROM device_limits WHERE device = ?').get(device) as { allow_payees: string };
  const parsed = JSON.parse(row.allow_payees) as unknown;
  assert(Array.isArray(parsed) && parsed.every((entry) => typeof entry === 'string'), 'allow_payees is a JSON array of device ids');
  const list = Object.freeze([...(parsed as string[])]);
  if (byDevice.size >= PARSED_LISTS_MAX) byDevice.clear();
  byDevice.set(device, { version, list });
  return list;
}

/** The device's own limits (each null where the broker's default applies); NO_LIMITS when none were set. */
export function getDeviceLimits(db: Db, device: string): DeviceLimits {
  const row = statement(db, 'SELECT max_per_payment, max_per_hour, max_per_day, allow_payees IS NOT NULL AS has_list, version FROM device_limits WHERE device = ?').get(device) as RawLimits | undefined;
  if (row === undefined) return NO_LIMITS;
  return {
    maxPerPayment: row.max_per_payment as Amount | null, maxPerHour: row.max_per_hour as Amount | null, maxPerDay: row.max_per_day as Amount | null,
    allowPayees: row.has_list === 1n ? allowListOf(db, device, row.version) : null,
  };
}

/** Replaces the device's own limits (all null: none, the defaults apply); the row's version goes up. */
export function setDeviceLimits(db: Db, device: string, limits: DeviceLimits, nowMs: number): void {
  if (getDevice(db, device) === null) throw new MqpayError('DEVICE_UNKNOWN', device);
  const changes = statement(
    db,
    `INSERT INTO device_limits (device, max_per_payment, max_per_hour, max_per_day, allow_payees, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (device) DO UPDATE SET max_per_payment = excluded.max_per_payment, max_per_hour = excluded.max_per_hour,
       max_per_day = excluded.max_per_day, allow_payees = excluded.allow_payees, version = device_limits.version + 1, updated_at_ms = excluded.updated_at_ms`,
  ).run(device, limits.maxPerPayment, limits.maxPerHour, limits.maxPerDay, limits.allowPayees === null ? null : JSON.stringify(limits.allowPayees), BigInt(nowMs)).changes;
  assert(changes === 1, 'one limits row written');
  forgetDeviceLimits(db, device);
}

/** As its own transaction, for callers that hold the database file (`mqpay device limits --data`). */
export function setDeviceLimitsNow(db: Db, device: string, limits: DeviceLimits, nowMs: number): void {
  db.transaction(() => setDeviceLimits(db, device, limits, nowMs)).immediate();
}

/** The device's spend buckets from `fromMinute` on, oldest first. */
export function spendBuckets(db: Db, device: string, fromMinute: number): SpendBucket[] {
  const rows = statement(db, 'SELECT minute, amount FROM device_spend WHERE device = ? AND minute >= ? ORDER BY minute').all(device, BigInt(fromMinute)) as { minute: bigint; amount: bigint }[];
  return rows.map((row) => ({ minute: Number(row.minute), amount: row.amount as Amount }));
}

/** Adds a voucher's increase to the device's bucket of that minute. */
export function addSpend(db: Db, device: string, minute: number, amount: Amount): void {
  assert(amount > 0n, 'a spend is positive');
  const changes = statement(db, 'INSERT INTO device_spend (device, minute, amount) VALUES (?, ?, ?) ON CONFLICT (device, minute) DO UPDATE SET amount = amount + excluded.amount')
    .run(device, BigInt(minute), amount).changes;
  assert(changes === 1, 'one spend bucket written');
}

/** Deletes buckets older than `beforeMinute` (outside every window); returns how many. */
export function pruneSpend(db: Db, beforeMinute: number): number {
  return statement(db, 'DELETE FROM device_spend WHERE minute < ?').run(BigInt(beforeMinute)).changes;
}
