// The store port over PostgreSQL (node-postgres Pool): the cluster mode's ledger, shared by every
// worker. One pooled client per transaction. What the SQLite store got from its single writer,
// this one gets from the database:
// - a unit of work (`transaction`) runs SERIALIZABLE: PostgreSQL aborts one of two concurrent
//   transactions whose interleaving no serial order could give (40001), and this store runs it
//   again, up to POSTGRES_TRANSACTION_ATTEMPTS_MAX times, with a fresh client state each time.
//   So the service's "read, judge, write" steps behave as under one writer.
// - a group commit (`batch`) runs READ COMMITTED with one SAVEPOINT per write: its writes are
//   conditional UPDATEs and atomic upserts whose row counts are asserted, and PostgreSQL
//   re-evaluates a conditional UPDATE on the newest version of the row after waiting for its
//   row lock, so two workers racing on one channel cannot both move it. SERIALIZABLE here would
//   abort batches of unrelated channels for sharing index pages. A deadlock (40P01) aborts the
//   whole batch, which is then run again like a unit of work.
// - an epoch locks `channels` against writers first (settle.ts).
// A write may therefore run more than once: it must act only through `tx` until its transaction
// has committed (the unit of work and the group commit keep effects until then).
import type pg from 'pg';
import { assert, MqpayError } from '../../../shared/errors.js';
import { POSTGRES_RETRY_PAUSE_MS_MAX, POSTGRES_RETRY_PAUSE_MS_MIN, POSTGRES_TRANSACTION_ATTEMPTS_MAX, VOUCHERS_KEPT_PER_CHANNEL } from '../../limits.js';
import type { BatchOutcome, Store, StoreReads, StoreTx } from '../port.js';
import * as channels from './channels.js';
import * as devices from './devices.js';
import { isConflict, isUnavailable, storeFault } from './faults.js';
import * as ledger from './ledger.js';
import * as meta from './meta.js';
import * as offers from './offers.js';
import { preparedOn, type Queryable } from './pool.js';
import { storeAnswer, storedAnswer } from './requests.js';
import { nextEpoch, settle, settlementChannels } from './settle.js';
import * as vouchers from './vouchers.js';

export interface PostgresStoreOptions {
  /** Accepted vouchers logged per channel (default VOUCHERS_KEPT_PER_CHANNEL). */
  readonly vouchersKeptPerChannel?: number;
  /** Tries of a transaction PostgreSQL aborted for a conflict (default POSTGRES_TRANSACTION_ATTEMPTS_MAX). */
  readonly attemptsMax?: number;
  /** Told each time a transaction is run again after a conflict (metrics, tests). */
  readonly onConflict?: (conflict: { readonly attempt: number; readonly what: 'unit' | 'batch'; readonly code: string }) => void;
}

function readsOf(q: Queryable): StoreReads {
  return {
    device: (id) => devices.getDevice(q, id),
    channel: (id) => channels.getChannel(q, id),
    channelsOf: (device, limit) => channels.listChannelsOf(q, device, limit),
    expiredOpenChannels: (nowSeconds, limit) => channels.listExpiredOpenChannels(q, nowSeconds, limit),
    dueClosingChannels: (nowMs, limit) => channels.listDueClosingChannels(q, nowMs, limit),
    doubleSignCount: (channel) => channels.countDoubleSigns(q, channel),
    openChannelsOf: (device, limit) => channels.listOpenChannelsOf(q, device, limit),
    keyHolder: (publicKey) => devices.keyHolder(q, publicKey),
    retiredKeysOf: (device, limit) => devices.retiredKeysOf(q, device, limit),
    countOpenChannelsOfPayer: (payer) => channels.countOpenChannelsOfPayer(q, payer),
    openChannelsOfPayer: (payer, limit) => channels.listOpenChannelsOfPayer(q, payer, limit),
    deviceLimits: (device) => devices.getDeviceLimits(q, device),
    spendBuckets: (device, fromMinute) => devices.spendBuckets(q, device, fromMinute),
    voucherAt: (channelId, seq) => channels.findVoucher(q, channelId, seq),
    chainOf: (channelId) => vouchers.chainOf(q, channelId),
    currentChainsOfPayee: (payee, limit) => vouchers.currentChainsOfPayee(q, payee, limit),
    balance: (account) => ledger.balanceOf(q, account),
    accountKey: (name) => ledger.accountKey(q, name),
    storedAnswer: (device, id) => storedAnswer(q, device, id),
    latestReceiptsOfPayer: (payer, limit) => vouchers.latestReceiptsOfPayer(q, payer, limit),
    settlementChannels: (id, after, limit) => settlementChannels(q, id, after, limit),
    ledgerCurrency: () => meta.ledgerCurrency(q),
    offerOf: (seller) => offers.offerOf(q, seller),
    currentOffers: (nowSeconds, afterSeller, limit) => offers.currentOffers(q, nowSeconds, afterSeller, limit),
    restoreRecord: () => meta.readRestoreRecord(q),
  };
}

function txOf(q: Queryable, vouchersKeptPerChannel: number): StoreTx {
  return {
    ...readsOf(q),
    addDevice: (id, publicKey, nowMs) => devices.addDevice(q, id, publicKey, nowMs),
    recordDeviceCertificate: (id, sha256) => devices.recordDeviceCertificate(q, id, sha256),
    pruneSettledVouchers: (acceptedBeforeMs) => vouchers.pruneSettledVouchers(q, acceptedBeforeMs),
    setDeviceStatus: (id, status) => devices.setDeviceStatus(q, id, status),
    setDeviceLimits: (id, limits, nowMs) => devices.setDeviceLimits(q, id, limits, nowMs),
    addSpend: (device, minute, amount) => devices.addSpend(q, device, minute, amount),
    pruneSpend: (beforeMinute) => devices.pruneSpend(q, beforeMinute),
    replaceDeviceKey: (id, currentKey, newKey, nowMs) => devices.replaceDeviceKey(q, id, currentKey, newKey, nowMs),
    reissueCertificate: (num, revision, certificate, signature) => channels.reissueCertificate(q, num, revision, certificate, signature),
    useTokenTime: (id, timeMs) => devices.useTokenTime(q, id, timeMs),
    insertChannel: (channel) => channels.insertChannel(q, channel),
    updateChannelDeposit: (num, deposit, revision, certificate, signature) => channels.updateChannelDeposit(q, num, deposit, revision, certificate, signature),
    raiseChannelTerms: (num, deposit, revision, certificate, signature) => channels.raiseChannelTerms(q, num, deposit, revision, certificate, signature),
    recordHeal: (heal) => meta.recordHeal(q, heal),
    markChannelClosed: (num, by, nowMs) => channels.markChannelClosed(q, num, by, nowMs),
    markChannelClosing: (num, by, nowMs, deadlineMs) => channels.markChannelClosing(q, num, by, nowMs, deadlineMs),
    appendVoucher: (voucher) => vouchers.appendVoucher(q, voucher, vouchersKeptPerChannel),
    appendCheckpoint: (checkpoint) => vouchers.appendCheckpoint(q, checkpoint),
    appendTick: (tick) => vouchers.appendTick(q, tick),
    recordDoubleSign: (evidence) => channels.recordDoubleSign(q, evidence),
    storeReceipt: (receipt) => vouchers.storeReceipt(q, receipt),
    ensureAccount: (name, kind) => ledger.ensureAccount(q, name, kind),
    insertTransfer: (transfer) => ledger.insertTransfer(q, transfer),
    fund: (input) => ledger.fund(q, input),
    payout: (input) => ledger.payout(q, input),
    move: (input) => ledger.move(q, input),
    settle: (input) => settle(q, input),
    nextEpoch: () => nextEpoch(q),
    storeAnswer: (device, id, method, answer, nowMs, keepPerDevice) => storeAnswer(q, device, id, method, answer, nowMs, keepPerDevice),
    putOffer: (offer) => offers.putOffer(q, offer),
    deleteExpiredOffers: (nowSeconds, limit) => offers.deleteExpiredOffers(q, nowSeconds, limit),
  };
}

type Isolation = 'SERIALIZABLE' | 'READ COMMITTED';

/**
 * BEGIN, `body` on one pooled client, COMMIT; ROLLBACK if anything throws. A client whose
 * connection failed (or that cannot even roll back) is discarded, not returned to the pool.
 */
async function inTransaction<T>(pool: pg.Pool, isolation: Isolation, body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect().catch((error: unknown) => {
    throw storeFault(error);
  });
  let discard = false;
  try {
    await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
    const value = await body(client);
    // After an error inside the transaction (one a write caught), PostgreSQL answers COMMIT with
    // ROLLBACK and no error: nothing may then be reported as committed [docs/DESIGN.md rule 5].
    const committed = await client.query('COMMIT');
    assert(committed.command === 'COMMIT', `the transaction committed (PostgreSQL answered ${committed.command})`);
    return value;
  } catch (error) {
    discard = isUnavailable(error);
    if (!discard) {
      await client.query('ROLLBACK').catch(() => {
        discard = true;
      });
    }
    throw error;
  } finally {
    client.release(discard);
  }
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `run` again after a conflict, with jittered doubling pauses; past the bound, SERVICE_UNAVAILABLE. */
async function withRetries<T>(what: 'unit' | 'batch', options: PostgresStoreOptions, run: () => Promise<T>): Promise<T> {
  const attemptsMax = options.attemptsMax ?? POSTGRES_TRANSACTION_ATTEMPTS_MAX;
  let pauseMs = POSTGRES_RETRY_PAUSE_MS_MIN;
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (!isConflict(error)) throw storeFault(error);
      if (attempt >= attemptsMax) throw new MqpayError('SERVICE_UNAVAILABLE', `the ledger stayed contended (${attempt} tries aborted by PostgreSQL)`);
      options.onConflict?.({ attempt, what, code: (error as { code: string }).code });
      await pause(pauseMs / 2 + Math.random() * pauseMs);
      pauseMs = Math.min(pauseMs * 2, POSTGRES_RETRY_PAUSE_MS_MAX);
    }
  }
}

/**
 * The writes of a batch, each in a savepoint: one that throws is rolled back alone; a conflict or
 * a lost connection aborts the whole batch (a conflict is then retried). Releasing one write's
 * savepoint and taking the next one's is one round trip; after a failed write the savepoint,
 * rolled back to, serves the next write as it is.
 */
async function writeEach<T>(client: pg.PoolClient, tx: StoreTx, writes: readonly ((tx: StoreTx) => Promise<T>)[]): Promise<BatchOutcome<T>[]> {
  const outcomes: BatchOutcome<T>[] = [];
  await client.query('SAVEPOINT item');
  for (const [index, write] of writes.entries()) {
    try {
      const value = await write(tx);
      if (index < writes.length - 1) await client.query('RELEASE SAVEPOINT item; SAVEPOINT item');
      outcomes.push({ ok: true, value });
    } catch (error) {
      if (isConflict(error) || isUnavailable(error)) throw error;
      await client.query('ROLLBACK TO SAVEPOINT item');
      outcomes.push({ ok: false, error });
    }
  }
  assert(outcomes.length === writes.length, 'one outcome per write');
  return outcomes;
}

export function postgresStore(pool: pg.Pool, options: PostgresStoreOptions = {}): Store {
  const kept = options.vouchersKeptPerChannel ?? VOUCHERS_KEPT_PER_CHANNEL;
  return {
    // Reads outside a transaction, straight on the pool: an unreachable database is SERVICE_UNAVAILABLE there too.
    reads: readsOf(preparedOn(pool, storeFault)),
    transaction: (work) => withRetries('unit', options, () => inTransaction(pool, 'SERIALIZABLE', (client) => work(txOf(preparedOn(client), kept)))),
    batch: (writes) => withRetries('batch', options, () => inTransaction(pool, 'READ COMMITTED', (client) => writeEach(client, txOf(preparedOn(client), kept), writes))),
    close: () => pool.end(),
  };
}
