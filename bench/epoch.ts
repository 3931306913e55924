// Builds a ledger with `channels` open channels directly in SQLite (the same statements the
// service uses), marks them all changed, and times one settlement epoch; then changes 1% of
// them and times another, to show the cost follows the changed channels. `benchEpochOfVouchers`
// times an epoch after 100k and after 1M vouchers over the same channels (several runs each,
// alternately, from copies of the same two files), and the database's size.
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addDevice } from '../broker/store/sqlite/devices.js';
import { accountKey, ensureAccount, fundWallet, insertTransfer } from '../broker/store/sqlite/ledger.js';
import { escrowAccount, walletAccount } from '../broker/store/accounts.js';
import { insertChannel } from '../broker/store/sqlite/channels.js';
import { DATABASE_FILE, openDatabase, type Db } from '../broker/store/sqlite/open-database.js';
import { appendVoucher } from '../broker/store/sqlite/voucher-log.js';
import { settleInTransaction } from '../broker/store/sqlite/settle.js';
import { CERTIFICATE_BYTES } from '../shared/certificate.js';
import { amountOf } from '../shared/amount.js';
import { generateKeyPair } from '../shared/keys.js';

const random = (n: number) => new Uint8Array(randomBytes(n));

/** A ledger of `channels` open channels, each with a deposit, built with the service's statements. */
function buildLedger(channels: number): { dir: string; db: Db; ids: Uint8Array[]; nums: bigint[]; nowMs: number } {
  const dir = mkdtempSync(join(tmpdir(), 'mqpay-epoch-'));
  const db = openDatabase(dir);
  const devices = 1_000;
  const nowMs = Date.now();
  for (let i = 0; i < devices; i++) {
    addDevice(db, `payer-${i}`, generateKeyPair(random).publicKey, nowMs);
    addDevice(db, `payee-${i}`, generateKeyPair(random).publicKey, nowMs);
    fundWallet(db, `payer-${i}`, amountOf(1_000_000_000_000n), `fund-${i}`, nowMs);
  }
  const deposit = amountOf(1_000_000n);
  const ids: Uint8Array[] = [];
  const nums: bigint[] = [];
  db.transaction(() => {
    for (let c = 0; c < channels; c++) {
      const id = random(32);
      ids.push(id);
      const payer = `payer-${c % devices}`;
      const payee = `payee-${(c * 7) % devices}`;
      const escrowKey = ensureAccount(db, escrowAccount(id), 'escrow');
      const num = insertChannel(db, {
        id, payer, payee, payerWallet: accountKey(db, walletAccount(payer)), payeeWallet: accountKey(db, walletAccount(payee)), escrowAccount: escrowKey,
        deposit, expiresAtSeconds: BigInt(Math.floor(nowMs / 1000) + 3600), certificate: new Uint8Array(CERTIFICATE_BYTES), certificateSignature: new Uint8Array(64), nowMs,
      });
      nums.push(num);
      insertTransfer(db, { id: `deposit:${c}`, from: walletAccount(payer), to: escrowAccount(id), amount: deposit, kind: 'deposit', channel: num, nowMs });
    }
  }).immediate();
  return { dir, db, ids, nums, nowMs };
}

export function benchEpoch(channels: number): { allChangedMs: number; fewChangedMs: number } {
  const { dir, db, ids, nowMs } = buildLedger(channels);
  const mark = db.prepare('UPDATE channels SET latest_seq = latest_seq + 1, latest_total = latest_total + 1000 WHERE id = ?');
  db.transaction(() => ids.forEach((id) => mark.run(id))).immediate();
  let started = performance.now();
  const all = db.transaction(() => settleInTransaction(db, { id: 'bench-all', reason: 'epoch', nowMs, feePpm: 0 })).immediate();
  const allChangedMs = performance.now() - started;
  if (all.kind !== 'settled' || all.result.channelCount !== channels) throw new Error('epoch did not settle every channel');
  db.transaction(() => ids.slice(0, channels / 100).forEach((id) => mark.run(id))).immediate();
  started = performance.now();
  db.transaction(() => settleInTransaction(db, { id: 'bench-few', reason: 'epoch', nowMs, feePpm: 0 })).immediate();
  const fewChangedMs = performance.now() - started;
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { allChangedMs, fewChangedMs };
}

/** Vouchers logged per transaction, as the broker's group commit batches them. */
const VOUCHERS_PER_TRANSACTION = 1_024;

/**
 * A ledger of `channels` channels after `vouchers` accepted vouchers spread evenly over them (the
 * broker's own append: log, latest, compaction), closed with its WAL checkpointed into the file:
 * a starting point each timed epoch copies, so every run settles the same channels from the same
 * state.
 */
function ledgerAfterVouchers(channels: number, vouchers: number): { dir: string; vouchersLogged: number } {
  const { dir, db, nums, nowMs } = buildLedger(channels);
  const bytes = random(82);
  const signature = random(64);
  const rounds = Math.ceil(vouchers / channels);
  let logged = 0;
  for (let round = 1; round <= rounds; round++) {
    for (let start = 0; start < channels && logged < vouchers; start += VOUCHERS_PER_TRANSACTION) {
      db.transaction(() => {
        for (let c = start; c < Math.min(channels, start + VOUCHERS_PER_TRANSACTION) && logged < vouchers; c++, logged++) {
          appendVoucher(db, { channel: nums[c] ?? 0n, seq: BigInt(round), total: amountOf(BigInt(round) * 1_000n), voucher: bytes, signature, redeeming: false, nowMs });
        }
      }).immediate();
    }
  }
  const vouchersLogged = Number((db.prepare('SELECT count(*) AS n FROM vouchers').get() as { n: bigint }).n);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { dir, vouchersLogged };
}

interface EpochRun {
  readonly epochMs: number;
  readonly epochCpuMs: number;
  readonly databaseBytes: number;
}

/** Times the settlement epoch on a fresh copy of `ledger`, and measures the file after it (WAL checkpointed). */
function timeEpochOnCopy(ledgerDir: string, channels: number): EpochRun {
  const dir = mkdtempSync(join(tmpdir(), 'mqpay-epoch-run-'));
  copyFileSync(join(ledgerDir, DATABASE_FILE), join(dir, DATABASE_FILE));
  const db = openDatabase(dir);
  const nowMs = Date.now();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const epoch = db.transaction(() => settleInTransaction(db, { id: 'bench-epoch', reason: 'epoch', nowMs, feePpm: 0 })).immediate();
  const epochMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  if (epoch.kind !== 'settled' || epoch.result.channelCount !== channels) throw new Error('epoch did not settle every channel');
  db.pragma('wal_checkpoint(TRUNCATE)');
  const databaseBytes = statSync(join(dir, DATABASE_FILE)).size;
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { epochMs, epochCpuMs: (used.user + used.system) / 1000, databaseBytes };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

export interface EpochOfVouchers {
  readonly vouchersLogged: number;
  readonly runs: readonly EpochRun[];
  /** Medians over the runs. */
  readonly epochMs: number;
  readonly epochCpuMs: number;
  readonly databaseBytes: number;
}

/**
 * The epoch that settles `channels` channels after `few` and after `many` vouchers over them:
 * storage and epoch time should follow the channels, not the vouchers. Each ledger is built
 * once; its epoch is then timed `runs` times on fresh copies, the two ledgers alternately, so
 * both meet the same load on the machine (one epoch writes ~220 MB of WAL and fsyncs it: a single
 * shot moved by 0.2x-2x on a shared machine). Medians are the figures; every run is kept.
 */
export function benchEpochOfVouchers(channels: number, few: number, many: number, runs: number): { few: EpochOfVouchers; many: EpochOfVouchers } {
  const ledgers = [ledgerAfterVouchers(channels, few), ledgerAfterVouchers(channels, many)] as const;
  const timed: EpochRun[][] = [[], []];
  try {
    for (let run = 0; run < runs; run++) ledgers.forEach((ledger, index) => timed[index]?.push(timeEpochOnCopy(ledger.dir, channels)));
  } finally {
    for (const ledger of ledgers) rmSync(ledger.dir, { recursive: true, force: true });
  }
  const summary = (index: 0 | 1): EpochOfVouchers => {
    const list = timed[index] ?? [];
    return { vouchersLogged: ledgers[index].vouchersLogged, runs: list, epochMs: median(list.map((r) => r.epochMs)), epochCpuMs: median(list.map((r) => r.epochCpuMs)), databaseBytes: median(list.map((r) => r.databaseBytes)) };
  };
  return { few: summary(0), many: summary(1) };
}
