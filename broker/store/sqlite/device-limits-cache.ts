// The limits rows of paying devices, cached per connection: the voucher path reads its payer's
// limits on every voucher [docs/DESIGN.md rule 12], and one primary-key read per voucher was a
// measurable part of the broker's CPU per voucher (bench/broker.bench.ts). The cache stays
// exact:
// - this process's own writes: `setDeviceLimits` forgets the device's entry, and nothing read
//   inside a transaction is cached (the transaction may still roll back, or be reading its own
//   uncommitted write);
// - writes by another process (`mqpay device limits --data` beside a running broker): SQLite's
//   `PRAGMA data_version` changes whenever another connection commits to the file. It is read at
//   the first use in each event-loop turn, and a change drops every entry, so another process's
//   change counts from the next turn on, as it did when every voucher read the row.
import type { DeviceLimits } from '../port.js';
import type { Db } from './open-database.js';
import { statement } from '../../../sqlite/statement.js';
import { LIMITS_CACHE_ENTRIES_MAX } from '../../limits.js';

interface LimitsCache {
  readonly entries: Map<string, DeviceLimits>;
  /** `data_version` when the entries were read; null before the first check. */
  dataVersion: bigint | null;
  /** Whether `data_version` was read in this event-loop turn. */
  checkedThisTurn: boolean;
}

const caches = new WeakMap<Db, LimitsCache>();

function cacheOf(db: Db): LimitsCache {
  let cache = caches.get(db);
  if (cache === undefined) {
    cache = { entries: new Map(), dataVersion: null, checkedThisTurn: false };
    caches.set(db, cache);
  }
  return cache;
}

/** Drops every entry if another connection has committed since they were read (once per turn). */
function dropIfChangedElsewhere(db: Db, cache: LimitsCache): void {
  if (cache.checkedThisTurn) return;
  cache.checkedThisTurn = true;
  setImmediate(() => {
    cache.checkedThisTurn = false;
  });
  const version = statement(db, 'PRAGMA data_version').get() as { data_version: bigint };
  if (version.data_version !== cache.dataVersion) cache.entries.clear();
  cache.dataVersion = version.data_version;
}

/** The device's own limits through the cache; `read` reads them from the database. */
export function cachedDeviceLimits(db: Db, device: string, read: () => DeviceLimits): DeviceLimits {
  if (db.inTransaction) return read();
  const cache = cacheOf(db);
  dropIfChangedElsewhere(db, cache);
  const hit = cache.entries.get(device);
  if (hit !== undefined) return hit;
  const limits = read();
  if (cache.entries.size >= LIMITS_CACHE_ENTRIES_MAX) cache.entries.clear();
  cache.entries.set(device, limits);
  return limits;
}

/** This connection changed the device's limits: its next read goes to the database. */
export function forgetDeviceLimits(db: Db, device: string): void {
  caches.get(db)?.entries.delete(device);
}
