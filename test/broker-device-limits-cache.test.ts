// The broker's connection caches devices' limits rows for the voucher path, and stays exact:
// its own writes forget the entry (a rolled-back one leaves nothing behind), reads inside a
// transaction are never kept, and a commit by another connection (`mqpay device limits --data`
// beside a running broker) counts from the next event-loop turn (PRAGMA data_version).
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../broker/store/sqlite/open-database.js';
import { addDevice } from '../broker/store/sqlite/devices.js';
import { cachedDeviceLimits } from '../broker/store/sqlite/device-limits-cache.js';
import { getDeviceLimits, NO_LIMITS, setDeviceLimits, setDeviceLimitsNow } from '../broker/store/sqlite/device-limits.js';
import type { Db } from '../broker/store/sqlite/open-database.js';
import type { DeviceLimits } from '../broker/store/port.js';
import { generateKeyPair } from '../shared/keys.js';
import { random, tempDir } from './helpers/broker-fixture.js';

const dirs: { remove: () => void }[] = [];
const dbs: Db[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
  for (const dir of dirs.splice(0)) dir.remove();
});

function ledger(): { path: string; db: Db } {
  const dir = tempDir('mqpay-limits-cache-');
  dirs.push(dir);
  const db = openDatabase(dir.path);
  dbs.push(db);
  addDevice(db, 'meter-1', generateKeyPair(random).publicKey, Date.now());
  return { path: dir.path, db };
}

const perPayment = (micro: bigint): DeviceLimits => ({ ...NO_LIMITS, maxPerPayment: micro as never });
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** Counts the reads that reach the database. */
function reader(db: Db): { read: () => DeviceLimits; count: number } {
  const counter = { count: 0, read: () => {
    counter.count += 1;
    return getDeviceLimits(db, 'meter-1');
  } };
  return counter;
}

describe('the limits cache of the voucher path', () => {
  it('answers from memory while nothing changed, and reads again after its own write', async () => {
    const { db } = ledger();
    const rows = reader(db);
    expect(cachedDeviceLimits(db, 'meter-1', rows.read)).toEqual(NO_LIMITS);
    expect(cachedDeviceLimits(db, 'meter-1', rows.read)).toEqual(NO_LIMITS);
    await nextTurn();
    expect(cachedDeviceLimits(db, 'meter-1', rows.read)).toEqual(NO_LIMITS);
    expect(rows.count).toBe(1);
    db.transaction(() => setDeviceLimits(db, 'meter-1', perPayment(5n), Date.now())).immediate();
    expect(cachedDeviceLimits(db, 'meter-1', rows.read).maxPerPayment).toBe(5n);
    expect(rows.count).toBe(2);
  });

  it('keeps nothing read inside a transaction, so a rolled-back write leaves no trace', () => {
    const { db } = ledger();
    const rows = reader(db);
    expect(() => db.transaction(() => {
      setDeviceLimits(db, 'meter-1', perPayment(7n), Date.now());
      expect(cachedDeviceLimits(db, 'meter-1', rows.read).maxPerPayment).toBe(7n); // its own uncommitted write
      throw new Error('roll back');
    }).immediate()).toThrow('roll back');
    expect(cachedDeviceLimits(db, 'meter-1', rows.read)).toEqual(NO_LIMITS);
  });

  it("sees another connection's commit from the next event-loop turn", async () => {
    const { path, db } = ledger();
    const rows = reader(db);
    expect(cachedDeviceLimits(db, 'meter-1', rows.read)).toEqual(NO_LIMITS);
    const other = openDatabase(path);
    dbs.push(other);
    setDeviceLimitsNow(other, 'meter-1', perPayment(9n), Date.now());
    await nextTurn();
    expect(cachedDeviceLimits(db, 'meter-1', rows.read).maxPerPayment).toBe(9n);
    expect(rows.count).toBe(2);
  });
});
