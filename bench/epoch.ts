// Builds a ledger with `channels` open channels directly in SQLite (the same statements the
// service uses), marks them all changed, and times one settlement epoch; then changes 1% of
// them and times another, to show the cost follows the changed channels.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addDevice } from '../broker/store/sqlite/devices.js';
import { accountKey, ensureAccount, fundWallet, insertTransfer } from '../broker/store/sqlite/ledger.js';
import { escrowAccount, walletAccount } from '../broker/store/accounts.js';
import { insertChannel } from '../broker/store/sqlite/channels.js';
import { openDatabase } from '../broker/store/sqlite/open-database.js';
import { settleInTransaction } from '../broker/store/sqlite/settle.js';
import { CERTIFICATE_BYTES } from '../shared/certificate.js';
import { amountOf } from '../shared/amount.js';
import { generateKeyPair } from '../shared/keys.js';

const random = (n: number) => new Uint8Array(randomBytes(n));

export function benchEpoch(channels: number): { allChangedMs: number; fewChangedMs: number } {
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
      insertTransfer(db, { id: `deposit:${c}`, from: walletAccount(payer), to: escrowAccount(id), amount: deposit, kind: 'deposit', channel: num, nowMs });
    }
  }).immediate();
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
