// The store port over one SQLite file (better-sqlite3, synchronous). Every method does its work
// at once and returns a settled promise, so a unit of work of the service runs in one turn of the
// event loop and nothing from another device can interleave with its transaction.
import type { Amount } from '../../../shared/amount.js';
import { assert } from '../../../shared/errors.js';
import { statement } from '../../../sqlite/statement.js';
import {
  countOpenChannelsOfPayer, findVoucher, getChannel, insertChannel, insertVoucher, listChannelsOf, listExpiredOpenChannels,
  countDoubleSigns, listDueClosingChannels, markChannelClosed, markChannelClosing, recordDoubleSign, setLatestVoucher, updateChannelDeposit,
} from './channels.js';
import { addDeviceInTransaction, getDevice, setDeviceStatus, useTokenTime } from './devices.js';
import { accountKey, balanceOf, ensureAccount, fundInTransaction, insertTransfer } from './ledger.js';
import type { Db } from './open-database.js';
import type { BatchOutcome, LatestReceipt, Store, StoredAnswer, StoreReads, StoreTx } from '../port.js';
import { nextEpoch, settleInTransaction, settlementChannels } from './settle.js';

function readsOf(db: Db): StoreReads {
  return {
    device: async (id) => getDevice(db, id),
    channel: async (id) => getChannel(db, id),
    channelsOf: async (device, limit) => listChannelsOf(db, device, limit),
    expiredOpenChannels: async (nowSeconds, limit) => listExpiredOpenChannels(db, nowSeconds, limit),
    dueClosingChannels: async (nowMs, limit) => listDueClosingChannels(db, nowMs, limit),
    doubleSignCount: async (channel) => countDoubleSigns(db, channel),
    countOpenChannelsOfPayer: async (payer) => countOpenChannelsOfPayer(db, payer),
    voucherAt: async (channelId, seq) => findVoucher(db, channelId, seq),
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
  };
}

function txOf(db: Db, reads: StoreReads): StoreTx {
  return {
    ...reads,
    addDevice: async (id, publicKey, nowMs) => addDeviceInTransaction(db, id, publicKey, nowMs),
    setDeviceStatus: async (id, status) => setDeviceStatus(db, id, status),
    useTokenTime: async (id, timeMs) => useTokenTime(db, id, timeMs),
    insertChannel: async (channel) => insertChannel(db, channel),
    updateChannelDeposit: async (num, deposit, revision, certificate, signature) => updateChannelDeposit(db, num, deposit, revision, certificate, signature),
    markChannelClosed: async (num, by, nowMs) => markChannelClosed(db, num, by, nowMs),
    markChannelClosing: async (num, by, nowMs, deadlineMs) => markChannelClosing(db, num, by, nowMs, deadlineMs),
    async appendVoucher(voucher) {
      insertVoucher(db, voucher.channel, voucher.seq, voucher.total, voucher.signature, voucher.nowMs);
      setLatestVoucher(db, voucher.channel, voucher.seq, voucher.total, voucher.voucher, voucher.signature, voucher.redeeming);
    },
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
  };
}

export function sqliteStore(db: Db): Store {
  const reads = readsOf(db);
  const tx = txOf(db, reads);
  return {
    reads,
    async transaction(work) {
      // Nested, BEGIN would fail; worse, a savepoint would let an outer rollback undo work whose
      // effects were already published.
      assert(!db.inTransaction, 'a unit of work is never nested');
      db.exec('BEGIN IMMEDIATE');
      let value;
      try {
        value = await work(tx);
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
      try {
        db.exec('COMMIT');
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
      return value;
    },
    async batch(writes) {
      assert(!db.inTransaction, 'a group commit runs outside any other transaction');
      db.exec('BEGIN IMMEDIATE');
      const outcomes: BatchOutcome<Awaited<ReturnType<(typeof writes)[number]>>>[] = [];
      try {
        for (const write of writes) {
          db.exec('SAVEPOINT item');
          try {
            outcomes.push({ ok: true, value: await write(tx) });
            db.exec('RELEASE item');
          } catch (error) {
            db.exec('ROLLBACK TO item');
            db.exec('RELEASE item');
            outcomes.push({ ok: false, error });
          }
        }
        db.exec('COMMIT');
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
      assert(outcomes.length === writes.length, 'one outcome per write');
      return outcomes;
    },
    async close() {
      db.close();
    },
  };
}
