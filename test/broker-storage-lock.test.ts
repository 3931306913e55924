// Another process holds the ledger's write lock (`BEGIN EXCLUSIVE` on its own connection, as a
// backup tool or a stuck admin command would): the broker keeps answering reads and refusals
// while it lasts, refuses writes with SERVICE_UNAVAILABLE (retryable) once its wait bound has
// passed, counts it, and everything resumes when the lock is released. Nothing is lost. The
// broker runs in this process: had it waited inside SQLite, this test's own code could not run
// while the lock is held.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { DATABASE_FILE } from '../broker/store/sqlite/open-database.js';
import { amountOf } from '../shared/amount.js';
import { MqpayError } from '../shared/errors.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import { payVoucher, random, signedVoucher, startBroker, type RunningBroker } from './helpers/broker-fixture.js';

let broker: RunningBroker | null = null;
let holder: Database.Database | null = null;
afterEach(async () => {
  if (holder?.inTransaction === true) holder.exec('ROLLBACK');
  holder?.close();
  holder = null;
  await broker?.stop();
  broker = null;
});

describe('a write lock held by another process', () => {
  it('reads and refusals are answered while it lasts, writes get SERVICE_UNAVAILABLE, and all resumes after', async () => {
    broker = await startBroker({ storeLockWaitMs: 300 });
    const keys = broker.enrol('car-1', '10');
    broker.enrol('charger-1');
    const car = await broker.link('car-1', keys);
    const channelId = newChannelId(random);
    await car.request('channel.open', { channel: toHex(channelId), payee: 'charger-1', deposit: '2', durationSeconds: 600 });
    expect((await payVoucher(car, signedVoucher(keys, { channelId, seq: 1n, total: amountOf(100n) }))).type).toBe('voucher.accepted');

    holder = new Database(join(broker.dataDir, DATABASE_FILE));
    holder.exec('BEGIN EXCLUSIVE');
    // A read: answered from the ledger as it was.
    expect(await car.request('wallet.balance', {})).toEqual({ device: 'car-1', balance: '8' });
    // A refusal that needs no write: answered at once.
    const malformed = await payVoucher(car, { voucher: 'zz' } as never);
    expect(malformed).toMatchObject({ type: 'voucher.rejected', error: { code: 'MESSAGE_INVALID' } });
    // Writes: refused, retryable, after the wait bound; the lock is still held throughout.
    const voucher = signedVoucher(keys, { channelId, seq: 2n, total: amountOf(200n) });
    const refused = await payVoucher(car, voucher);
    expect(refused).toMatchObject({ type: 'voucher.rejected', seq: '2', error: { code: 'SERVICE_UNAVAILABLE', retryable: true } });
    const open = car.request('channel.open', { channel: toHex(newChannelId(random)), payee: 'charger-1', deposit: '1', durationSeconds: 600 });
    await expect(open).rejects.toBeInstanceOf(MqpayError);
    await expect(open).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true });
    expect(holder.inTransaction).toBe(true);
    expect(broker.app.service.telemetry.storageLockWaits.refused).toBeGreaterThanOrEqual(2);

    holder.exec('ROLLBACK');
    // The re-sent voucher is accepted, and the ledger holds exactly what was accepted.
    expect((await payVoucher(car, voucher)).type).toBe('voucher.accepted');
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ latestSeq: 2n, latestTotal: 200n });
    expect(await car.request('wallet.balance', {})).toEqual({ device: 'car-1', balance: '8' });
    expect(auditLedger(broker.app.db).filter((check) => !check.ok)).toEqual([]);
  });

  it('a lock released within the bound costs only the wait: the write goes through, counted as acquired', async () => {
    broker = await startBroker({ storeLockWaitMs: 10_000 });
    const keys = broker.enrol('car-2', '10');
    broker.enrol('charger-2');
    const car = await broker.link('car-2', keys);
    holder = new Database(join(broker.dataDir, DATABASE_FILE));
    holder.exec('BEGIN EXCLUSIVE');
    const channelId = newChannelId(random);
    const open = car.request('channel.open', { channel: toHex(channelId), payee: 'charger-2', deposit: '2', durationSeconds: 600 });
    // The open is waiting for the lock (its reply has not come); a read is served meanwhile.
    expect(await car.request('wallet.balance', {})).toEqual({ device: 'car-2', balance: '10' });
    holder.exec('ROLLBACK');
    expect(await open).toMatchObject({ channel: { deposit: '2', state: 'open' } });
    expect(broker.app.service.telemetry.storageLockWaits.acquired).toBe(1);
    expect(broker.app.service.telemetry.storageLockWaits.refused).toBe(0);
  });
});
