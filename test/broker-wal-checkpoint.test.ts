// The broker's WAL is checkpointed by a worker thread on its own connection (the broker's has
// wal_autocheckpoint=0 and commits with synchronous=NORMAL, its fsync done by `syncWal` off the
// event loop). The checkpoint copies every frame into the database file; the worker then starts
// the WAL again from its top with a write of its own, in the same file (the WAL fsync's fd stays
// the right one); an idle WAL is left alone; and the ledger reopened afterwards holds every commit.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { inspectBackup, writeBackup } from '../broker/store/sqlite/backup-file.js';
import { addDeviceInTransaction } from '../broker/store/sqlite/devices.js';
import { openDatabase, type Db } from '../broker/store/sqlite/open-database.js';
import { sqliteStore } from '../broker/store/sqlite/store.js';
import { WalCheckpointer, type CheckpointResult } from '../broker/store/sqlite/wal-checkpointer.js';
import { openWalSync, type WalSync } from '../broker/store/sqlite/wal-sync.js';
import { generateKeyPair } from '../shared/keys.js';
import { random, tempDir } from './helpers/broker-fixture.js';

const COMMITS = 200;
/** Short, so that without the pause checkpoints (and WAL restarts) would land inside the backup. */
const BACKUP_CHECKPOINT_INTERVAL_MS = 5;
const dir = tempDir('mqpay-wal-');
let db: Db | null = null;
let walSync: WalSync | null = null;
let checkpointer: WalCheckpointer | null = null;
afterEach(async () => {
  await checkpointer?.close();
  walSync?.close();
  db?.close();
  dir.remove();
});

/** The ledger with one device, its WAL fsync, and the store over them as the broker builds it. */
function openBrokerStore() {
  const opened = openDatabase(dir.path);
  db = opened;
  addDeviceInTransaction(opened, 'dev', generateKeyPair(random).publicKey, Date.now());
  const sync = openWalSync(opened.name);
  walSync = sync;
  return { store: sqliteStore(opened, { lockWaitMs: 5_000, syncWal: sync.syncWal }), ledger: opened, sync };
}

describe('WAL checkpoints in a worker', () => {
  it('copies the whole WAL into the database file, restarts it in the same file, and loses nothing', async () => {
    const { store, ledger, sync } = openBrokerStore();
    expect(ledger.pragma('synchronous', { simple: true })).toBe(1n); // NORMAL
    expect(ledger.pragma('wal_autocheckpoint', { simple: true })).toBe(0n);
    const write = (id: number) => store.transaction((tx) => tx.storeAnswer('dev', `r${id}`, 'wallet.balance', { digest: 'd', response: '{}' }, Date.now(), 1_000_000));
    for (let id = 0; id < COMMITS; id++) await write(id);
    const walInode = statSync(`${ledger.name}-wal`).ino;

    const results: CheckpointResult[] = [];
    let onResult: (() => void) | null = null;
    const nextResult = () => new Promise<CheckpointResult>((resolve) => {
      onResult = () => resolve(results.at(-1) as CheckpointResult);
    });
    checkpointer = new WalCheckpointer(ledger.name, (result) => {
      results.push(result);
      onResult?.();
    });
    let first = nextResult();
    checkpointer.checkpointNow();
    let result = await first;
    // Another connection of this process may hold a read snapshot for a moment: try again.
    for (let tries = 1; !(result.ok && result.walFrames === result.checkpointed); tries++) {
      expect(tries).toBeLessThan(50);
      first = nextResult();
      checkpointer.checkpointNow();
      result = await first;
    }
    expect(result.walFrames).toBeGreaterThanOrEqual(COMMITS);
    // The worker wrote first after it (the WAL's restart, its header fsynced on the worker's
    // thread); with nothing written since, the next checkpoint has nothing to do: no fsync.
    expect(result.restartWritten).toBe(true);
    const idle = nextResult();
    checkpointer.checkpointNow();
    expect(await idle).toEqual({ ok: true, idle: true });

    // The next commit starts the WAL again from its top: a checkpoint now finds a few frames.
    await write(COMMITS);
    const again = nextResult();
    checkpointer.checkpointNow();
    const after = await again;
    expect(after).toMatchObject({ ok: true });
    expect(after.walFrames).toBeLessThan(10);
    expect(statSync(`${ledger.name}-wal`).ino).toBe(walInode);

    await checkpointer.close();
    checkpointer = null;
    sync.close();
    walSync = null;
    ledger.close();
    db = openDatabase(dir.path, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM requests').pluck().get()).toBe(BigInt(COMMITS + 1));
  });
});

describe('WAL checkpoints and online backups', () => {
  it('holds checkpoints off while a stepped backup copies pages under writes, then checkpoints again', async () => {
    const { store, ledger, sync } = openBrokerStore();
    let written = 0;
    const write = () => store.transaction((tx) => tx.storeAnswer('dev', `r${written++}`, 'wallet.balance', { digest: 'd', response: '{}' }, Date.now(), 1_000_000));
    for (let id = 0; id < COMMITS; id++) await write();
    const results: CheckpointResult[] = [];
    const waiting: ((result: CheckpointResult) => void)[] = [];
    checkpointer = new WalCheckpointer(ledger.name, (result) => {
      results.push(result);
      waiting.shift()?.(result);
    }, { intervalMs: BACKUP_CHECKPOINT_INTERVAL_MS });
    const nextResult = () => new Promise<CheckpointResult>((resolve) => waiting.push(resolve));
    // Periodic checkpoints answer too: the first result that matches, within a bound.
    const resultWhere = async (match: (result: CheckpointResult) => boolean) => {
      for (let tries = 0; tries < 1_000; tries++) {
        const result = await nextResult();
        if (match(result)) return result;
      }
      throw new Error('no such checkpoint result');
    };
    const active = checkpointer;
    const file = join(dir.path, 'backup.db');

    // Writes go on during the backup: one page per event-loop turn, each turn a commit beside it.
    let writing = true;
    const writer = (async () => {
      while (writing) await write();
    })();
    const backup = await active.pauseWhile(async () => {
      await resultWhere((result) => result.paused === true);
      return writeBackup(ledger, file, { nowMs: Date.now(), pagesPerStep: 1, serviceSecretKey: random(32) });
    });
    writing = false;
    await writer;
    expect(backup.checks.filter((check) => !check.ok)).toEqual([]);
    expect(inspectBackup(file).checks.filter((check) => !check.ok)).toEqual([]);

    // Resumed: the next checkpoint does its work again.
    expect(await resultWhere((result) => result.paused !== true)).toMatchObject({ ok: true });
  });
});
