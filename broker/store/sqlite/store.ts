// The store port over one SQLite file (better-sqlite3, synchronous). Every method does its work
// at once and returns a settled promise, so a unit of work of the service runs in one turn of the
// event loop and nothing from another device can interleave with its transaction. With a
// `syncWal` (the broker), a commit's fsync is the one thing done off the event loop: COMMIT
// returns without one (synchronous=NORMAL) and the transaction resolves once `syncWal` has made
// it durable (durable-commit.ts).
import type { Amount } from '../../../shared/amount.js';
import { assert, MqpayError } from '../../../shared/errors.js';
import { STORE_LOCK_RETRY_MS_MAX, STORE_LOCK_RETRY_MS_MIN, STORE_LOCK_WAIT_MS_DEFAULT, VOUCHERS_KEPT_PER_CHANNEL, WAL_BYTES_KEPT_MAX } from '../../limits.js';
import { statement } from '../../../sqlite/statement.js';
import {
  countOpenChannelsOfPayer, findVoucher, getChannel, insertChannel, insertVoucher, listChannelsOf, listExpiredOpenChannels, listOpenChannelsOfPayer,
  countDoubleSigns, listDueClosingChannels, listOpenChannelsOf, markChannelClosed, markChannelClosing, raiseChannelTerms, recordDoubleSign, reissueCertificate, setLatestVoucher, updateChannelDeposit,
} from './channels.js';
import { readRestoreRecord, recordHeal } from './restore-record.js';
import { addDeviceInTransaction, getDevice, setDeviceStatus, useTokenTime } from './devices.js';
import { accountKey, balanceOf, ensureAccount, fundInTransaction, insertTransfer } from './ledger.js';
import { BUSY_TIMEOUT_MS, type Db } from './open-database.js';
import { moveInTransaction, payoutInTransaction } from './outflows.js';
import type { BatchOutcome, LatestReceipt, Store, StoredAnswer, StoreReads, StoreTx } from '../port.js';
import { nextEpoch, settleInTransaction, settlementChannels } from './settle.js';
import { recordDeviceCertificate } from './device-certificates.js';
import { keyHolder, replaceDeviceKey, retiredKeysOf } from './device-keys.js';
import { pruneSettledVouchers } from './retention.js';
import { addSpend, getDeviceLimits, pruneSpend, setDeviceLimits, spendBuckets } from './device-limits.js';
import { appendVoucher, compactingOncePerBatch } from './voucher-log.js';
import { cachedDeviceLimits } from './device-limits-cache.js';
import { awaitDurable, type SyncStall } from './durable-commit.js';
import type { SyncWal } from './wal-sync.js';
import { acceptCheckpoint, acceptTick, chainOf, currentChainsOfPayee } from './chains.js';
import { currentOffers, deleteExpiredOffers, offerOf, putOffer } from './offers.js';
import { ledgerCurrency } from './ledger-currency.js';

function readsOf(db: Db): StoreReads {
  return {
    device: async (id) => getDevice(db, id),
    channel: async (id) => getChannel(db, id),
    channelsOf: async (device, limit) => listChannelsOf(db, device, limit),
    expiredOpenChannels: async (nowSeconds, limit) => listExpiredOpenChannels(db, nowSeconds, limit),
    dueClosingChannels: async (nowMs, limit) => listDueClosingChannels(db, nowMs, limit),
    doubleSignCount: async (channel) => countDoubleSigns(db, channel),
    openChannelsOf: async (device, limit) => listOpenChannelsOf(db, device, limit),
    keyHolder: async (publicKey) => keyHolder(db, publicKey),
    retiredKeysOf: async (device, limit) => retiredKeysOf(db, device, limit),
    countOpenChannelsOfPayer: async (payer) => countOpenChannelsOfPayer(db, payer),
    openChannelsOfPayer: async (payer, limit) => listOpenChannelsOfPayer(db, payer, limit),
    deviceLimits: async (device) => cachedDeviceLimits(db, device, () => getDeviceLimits(db, device)),
    spendBuckets: async (device, fromMinute) => spendBuckets(db, device, fromMinute),
    voucherAt: async (channelId, seq) => findVoucher(db, channelId, seq),
    chainOf: async (channelId) => chainOf(db, channelId),
    currentChainsOfPayee: async (payee, limit) => currentChainsOfPayee(db, payee, limit),
    balance: async (account) => balanceOf(db, account),
    accountKey: async (name) => accountKey(db, name),
    async storedAnswer(device, id): Promise<StoredAnswer | null> {
      const row = statement(db, 'SELECT digest, response FROM requests WHERE device = ? AND id = ?').get(device, id) as StoredAnswer | undefined;
      return row ?? null;
    },
    async latestReceiptsOfPayer(payer, limit): Promise<LatestReceipt[]> {
      const rows = statement(
        db,
        `SELECT c.id, c.payee, r.seq, r.total, r.signature FROM receipts r JOIN channels c ON c.num = r.channel
         WHERE c.payer = ? AND c.state = 'open' ORDER BY c.num LIMIT ?`,
      ).all(payer, BigInt(limit)) as { id: Buffer; payee: string; seq: bigint; total: bigint; signature: Buffer }[];
      return rows.map((row) => ({ channelId: new Uint8Array(row.id), payee: row.payee, seq: row.seq, total: row.total as Amount, signature: new Uint8Array(row.signature) }));
    },
    settlementChannels: async (id, after, limit) => settlementChannels(db, id, after, limit),
    ledgerCurrency: async () => ledgerCurrency(db),
    offerOf: async (seller) => offerOf(db, seller),
    currentOffers: async (nowSeconds, afterSeller, limit) => currentOffers(db, nowSeconds, afterSeller, limit),
    restoreRecord: async () => readRestoreRecord(db),
  };
}

function txOf(db: Db, reads: StoreReads, vouchersKeptPerChannel: number): StoreTx {
  return {
    ...reads,
    addDevice: async (id, publicKey, nowMs) => addDeviceInTransaction(db, id, publicKey, nowMs),
    recordDeviceCertificate: async (id, sha256) => recordDeviceCertificate(db, id, sha256),
    pruneSettledVouchers: async (acceptedBeforeMs) => pruneSettledVouchers(db, acceptedBeforeMs),
    setDeviceStatus: async (id, status) => setDeviceStatus(db, id, status),
    setDeviceLimits: async (id, limits, nowMs) => setDeviceLimits(db, id, limits, nowMs),
    addSpend: async (device, minute, amount) => addSpend(db, device, minute, amount),
    pruneSpend: async (beforeMinute) => pruneSpend(db, beforeMinute),
    replaceDeviceKey: async (id, currentKey, newKey, nowMs) => replaceDeviceKey(db, id, currentKey, newKey, nowMs),
    reissueCertificate: async (num, revision, certificate, signature) => reissueCertificate(db, num, revision, certificate, signature),
    useTokenTime: async (id, timeMs) => useTokenTime(db, id, timeMs),
    insertChannel: async (channel) => insertChannel(db, channel),
    updateChannelDeposit: async (num, deposit, revision, certificate, signature) => updateChannelDeposit(db, num, deposit, revision, certificate, signature),
    raiseChannelTerms: async (num, deposit, revision, certificate, signature) => raiseChannelTerms(db, num, deposit, revision, certificate, signature),
    recordHeal: async (heal) => recordHeal(db, heal),
    markChannelClosed: async (num, by, nowMs) => markChannelClosed(db, num, by, nowMs),
    markChannelClosing: async (num, by, nowMs, deadlineMs) => markChannelClosing(db, num, by, nowMs, deadlineMs),
    appendVoucher: async (voucher) => appendVoucher(db, voucher, vouchersKeptPerChannel),
    appendCheckpoint: async (checkpoint) => acceptCheckpoint(db, checkpoint),
    appendTick: async (tick) => acceptTick(db, tick),
    recordDoubleSign: async (evidence) => recordDoubleSign(db, evidence),
    async storeReceipt(receipt) {
      // Only each channel's latest receipt is kept: it acknowledges every total below it, and a
      // payee cannot grow the table by sending receipts for ever more seqs.
      statement(
        db,
        `INSERT INTO receipts (channel, seq, total, signature, received_at_ms) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (channel) DO UPDATE SET seq = excluded.seq, total = excluded.total, signature = excluded.signature, received_at_ms = excluded.received_at_ms
         WHERE excluded.seq > receipts.seq`,
      ).run(receipt.channel, receipt.seq, receipt.total, receipt.signature, BigInt(receipt.nowMs));
    },
    ensureAccount: async (name, kind) => ensureAccount(db, name, kind),
    insertTransfer: async (transfer) => insertTransfer(db, transfer),
    fund: async (input) => fundInTransaction(db, input),
    payout: async (input) => payoutInTransaction(db, input),
    move: async (input) => moveInTransaction(db, input),
    settle: async (input) => settleInTransaction(db, input),
    nextEpoch: async () => nextEpoch(db),
    async storeAnswer(device, id, method, answer, nowMs, keepPerDevice) {
      const inserted = statement(db, 'INSERT INTO requests (device, id, method, digest, response, created_at_ms) VALUES (?, ?, ?, ?, ?, ?)').run(
        device, id, method, answer.digest, answer.response, BigInt(nowMs),
      ).changes;
      assert(inserted === 1, 'one answer stored per request');
      // Bounded per device: only its most recent answers are kept for retries.
      statement(
        db,
        `DELETE FROM requests WHERE device = @device AND id NOT IN
           (SELECT id FROM requests WHERE device = @device ORDER BY created_at_ms DESC, id DESC LIMIT @keep)`,
      ).run({ device, keep: BigInt(keepPerDevice) });
    },
    putOffer: async (offer) => putOffer(db, offer),
    deleteExpiredOffers: async (nowSeconds, limit) => deleteExpiredOffers(db, nowSeconds, limit),
  };
}

export interface SqliteStoreOptions {
  /** How long a write waits for a write lock held by another process (then SERVICE_UNAVAILABLE). */
  readonly lockWaitMs: number;
  /** Told when a write had to wait for the lock, and whether it got it (logs, metrics, alarms). */
  readonly onLockWait?: (waited: { readonly waitedMs: number; readonly acquired: boolean }) => void;
  /**
   * Makes the commits so far durable, off the event loop (wal-sync.ts). With it the connection
   * commits with synchronous=NORMAL and no automatic checkpoints (the broker checkpoints from a
   * worker, wal-checkpointer.ts); without it, synchronous=FULL fsyncs in COMMIT (tools, tests).
   */
  readonly syncWal?: SyncWal;
  /** Told when a commit waited for the disk longer than `lockWaitMs`, and when that ended. */
  readonly onSyncStall?: (stall: SyncStall) => void;
  /** Told when a write was refused for a full or failing disk (alarms). */
  readonly onFault?: (reason: 'disk-full' | 'disk-io') => void;
  /** Accepted vouchers logged per channel (default VOUCHERS_KEPT_PER_CHANNEL; voucher-log.ts). */
  readonly vouchersKeptPerChannel?: number;
}

const DEFAULT_OPTIONS: SqliteStoreOptions = { lockWaitMs: STORE_LOCK_WAIT_MS_DEFAULT };

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}

/**
 * A full disk (SQLITE_FULL) or a failing one (SQLITE_IOERR_*) is a passing condition of the
 * machine, not a bug: the write is refused as SERVICE_UNAVAILABLE, which devices retry, instead
 * of INTERNAL. Nothing was stored, so nothing was acknowledged [docs/DESIGN.md rule 5].
 */
function storageFault(error: unknown, options: SqliteStoreOptions): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'SQLITE_FULL') {
    options.onFault?.('disk-full');
    return new MqpayError('SERVICE_UNAVAILABLE', 'the ledger\'s disk is full');
  }
  if (typeof code === 'string' && code.startsWith('SQLITE_IOERR')) {
    options.onFault?.('disk-io');
    return new MqpayError('SERVICE_UNAVAILABLE', 'the ledger\'s disk failed a write');
  }
  return error;
}

/**
 * One try for the write lock that never waits inside SQLite: busy timeout 0 for this BEGIN only.
 * The connection's own timeout (BUSY_TIMEOUT_MS) stays for synchronous writes beside the store
 * (enrolment at startup, tests' fixtures), which may meet the checkpoint worker's momentary lock
 * (wal-checkpointer.ts). Pragmas run when prepared, so this cannot be a cached statement.
 */
function tryBeginImmediate(db: Db): boolean {
  db.pragma('busy_timeout = 0');
  try {
    db.exec('BEGIN IMMEDIATE');
    return true;
  } catch (error) {
    if (!isBusy(error)) throw error;
    return false;
  } finally {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }
}

/**
 * BEGIN IMMEDIATE without ever blocking the event loop: a write lock held by another process or
 * by the checkpoint worker fails at once, and this waits between tries with timers (doubling
 * pauses) until the lock is free or `lockWaitMs` has passed [docs/DESIGN.md rule 15].
 */
async function beginImmediate(db: Db, options: SqliteStoreOptions): Promise<void> {
  const startedMs = Date.now();
  let pauseMs = STORE_LOCK_RETRY_MS_MIN;
  for (let tries = 1; ; tries++) {
    if (tryBeginImmediate(db)) {
      if (tries > 1) options.onLockWait?.({ waitedMs: Date.now() - startedMs, acquired: true });
      return;
    }
    const waitedMs = Date.now() - startedMs;
    if (waitedMs >= options.lockWaitMs) {
      options.onLockWait?.({ waitedMs, acquired: false });
      throw new MqpayError('SERVICE_UNAVAILABLE', `the ledger is locked by another process (waited ${waitedMs} ms)`);
    }
    await pause(Math.min(pauseMs, options.lockWaitMs - waitedMs));
    pauseMs = Math.min(pauseMs * 2, STORE_LOCK_RETRY_MS_MAX);
  }
}

/** COMMIT, then (with a `syncWal`) the wait for it to be durable; a failed COMMIT rolls back. */
async function commitDurably(db: Db, options: SqliteStoreOptions): Promise<void> {
  try {
    db.exec('COMMIT');
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw storageFault(error, options);
  }
  const syncWal = options.syncWal;
  if (syncWal === undefined) return;
  try {
    await awaitDurable({ syncWal, stallMs: options.lockWaitMs, ...(options.onSyncStall === undefined ? {} : { onSyncStall: options.onSyncStall }) });
  } catch (error) {
    options.onFault?.('disk-io');
    throw error;
  }
}

/** No fsync in COMMIT, and no checkpoint on this connection (both would run on the event loop). */
function syncOffTheEventLoop(db: Db): void {
  db.pragma('synchronous = NORMAL');
  db.pragma('wal_autocheckpoint = 0');
  db.pragma(`journal_size_limit = ${WAL_BYTES_KEPT_MAX}`);
}

/** A group commit's writes in its open transaction, a savepoint each: one that throws is rolled back alone. */
async function runInSavepoints(db: Db, tx: StoreTx, writes: readonly ((tx: StoreTx) => Promise<unknown>)[], options: SqliteStoreOptions): Promise<BatchOutcome<unknown>[]> {
  const outcomes: BatchOutcome<unknown>[] = [];
  for (const write of writes) {
    db.exec('SAVEPOINT item');
    try {
      outcomes.push({ ok: true, value: await write(tx) });
      db.exec('RELEASE item');
    } catch (error) {
      // A full or failing disk makes SQLite roll back the whole transaction, savepoints
      // included: the batch fails as one, with the fault that caused it.
      if (!db.inTransaction) throw error;
      db.exec('ROLLBACK TO item');
      db.exec('RELEASE item');
      outcomes.push({ ok: false, error: storageFault(error, options) });
    }
  }
  return outcomes;
}

export function sqliteStore(db: Db, options: SqliteStoreOptions = DEFAULT_OPTIONS): Store {
  const reads = readsOf(db);
  const vouchersKeptPerChannel = options.vouchersKeptPerChannel ?? VOUCHERS_KEPT_PER_CHANNEL;
  const tx = txOf(db, reads, vouchersKeptPerChannel);
  // Writes wait for the lock with timers (beginImmediate), never inside SQLite on the event loop.
  if (options.syncWal !== undefined) syncOffTheEventLoop(db);
  return {
    reads,
    async transaction(work) {
      // Nested, BEGIN would fail; worse, a savepoint would let an outer rollback undo work whose
      // effects were already published.
      assert(!db.inTransaction, 'a unit of work is never nested');
      await beginImmediate(db, options);
      let value;
      try {
        value = await work(tx);
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw storageFault(error, options);
      }
      await commitDurably(db, options);
      return value;
    },
    async batch(writes) {
      assert(!db.inTransaction, 'a group commit runs outside any other transaction');
      await beginImmediate(db, options);
      let outcomes: BatchOutcome<unknown>[];
      try {
        // Each channel's voucher log is compacted once, at the batch's end (voucher-log.ts).
        outcomes = await compactingOncePerBatch(db, vouchersKeptPerChannel, () => runInSavepoints(db, tx, writes, options));
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw storageFault(error, options);
      }
      await commitDurably(db, options);
      assert(outcomes.length === writes.length, 'one outcome per write');
      return outcomes as BatchOutcome<Awaited<ReturnType<(typeof writes)[number]>>>[];
    },
    async close() {
      db.close();
    },
  };
}
