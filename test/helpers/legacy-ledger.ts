// Ledgers as an earlier release left them, for the upgrade tests: opened with the migrations up
// to a given one, two devices, a funded payer and one open channel with its deposit in escrow.
import { join } from 'node:path';
import { escrowAccount, walletAccount } from '../../broker/store/accounts.js';
import { insertChannel } from '../../broker/store/sqlite/channels.js';
import { accountKey, ensureAccount, fundWallet, insertTransfer } from '../../broker/store/sqlite/ledger.js';
import { MIGRATIONS } from '../../broker/store/sqlite/migrations.js';
import { DATABASE_FILE, type Db } from '../../broker/store/sqlite/open-database.js';
import { openSqlite } from '../../sqlite/open.js';
import { amountOf, type Amount } from '../../shared/amount.js';
import { encodeCertificate } from '../../shared/certificate.js';
import { newChannelId } from '../../shared/ids.js';
import { generateKeyPair } from '../../shared/keys.js';
import { random } from './broker-fixture.js';
import { sign } from '../../shared/crypto.js';
import type { KeyPair } from '../../shared/keys.js';

export interface LegacyChannel {
  readonly id: Uint8Array;
  readonly payer: { readonly name: string; readonly keys: KeyPair };
  readonly payee: { readonly name: string; readonly keys: KeyPair };
  readonly funds: Amount;
  readonly deposit: Amount;
  readonly expiresAtSeconds: bigint;
  /** The certificate bytes as that release stored them, signed here by `service`. */
  readonly certificate: Uint8Array;
  readonly service: KeyPair;
  readonly nowMs: number;
}

/**
 * van-1 pays dock-1 on a channel of deposit 1000 micro-units (5000 funded), its certificate in
 * the layout that release wrote: 1 (191 bytes, before the currency) or 2.
 */
export function legacyChannel(layout: 1 | 2): LegacyChannel {
  const payer = generateKeyPair(random);
  const payee = generateKeyPair(random);
  const id = newChannelId(random);
  const nowMs = Date.now();
  const expiresAtSeconds = BigInt(Math.floor(nowMs / 1000) + 3_600);
  const deposit = amountOf(1_000n);
  const v2 = encodeCertificate({ channelId: id, payer: 'van-1', payerKey: payer.publicKey, payee: 'dock-1', payeeKey: payee.publicKey, deposit, currency: 'EUR', expiresAtSeconds, revision: 1 });
  const certificate = layout === 2 ? v2 : new Uint8Array([...v2.subarray(0, 179), ...v2.subarray(182)]);
  if (layout === 1) certificate[8] = 1;
  return { id, payer: { name: 'van-1', keys: payer }, payee: { name: 'dock-1', keys: payee }, funds: amountOf(5_000n), deposit, expiresAtSeconds, certificate, service: generateKeyPair(random), nowMs };
}

/** The ledger file at schema `version`, with `channel` open; returns the open database and the channel's key. */
export function legacyLedger(dataDir: string, version: number, channel: LegacyChannel): { db: Db; num: bigint } {
  const db = openSqlite(join(dataDir, DATABASE_FILE), { migrations: MIGRATIONS.slice(0, version), what: 'broker database' });
  const { payer, payee, nowMs } = channel;
  // Devices as the oldest schema holds them (today's addDevice also writes the key history of a later one).
  db.transaction(() => {
    for (const party of [payer, payee]) {
      db.prepare("INSERT INTO devices (id, public_key, status, created_at_ms) VALUES (?, ?, 'active', ?)").run(party.name, party.keys.publicKey, BigInt(nowMs));
      ensureAccount(db, walletAccount(party.name), 'wallet');
    }
  })();
  fundWallet(db, payer.name, channel.funds, payer.name, nowMs);
  const num = db.transaction(() => {
    const escrow = ensureAccount(db, escrowAccount(channel.id), 'escrow');
    const key = insertChannel(db, {
      id: channel.id, payer: payer.name, payee: payee.name, payerWallet: accountKey(db, walletAccount(payer.name)), payeeWallet: accountKey(db, walletAccount(payee.name)),
      escrowAccount: escrow, deposit: channel.deposit, expiresAtSeconds: channel.expiresAtSeconds, certificate: channel.certificate, certificateSignature: sign(channel.certificate, channel.service.secretKey), nowMs,
    });
    insertTransfer(db, { id: 'deposit:upgrade', from: walletAccount(payer.name), to: escrowAccount(channel.id), amount: channel.deposit, kind: 'deposit', channel: key, nowMs });
    return key;
  })();
  return { db, num };
}

