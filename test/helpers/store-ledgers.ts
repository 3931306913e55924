// The two adapters of the store port side by side for the conformance suite: a real SQLite file in
// a temporary directory and a real PostgreSQL database (test/helpers/postgres.ts), each with its
// audit and a raw SQL door (to show what the database itself refuses). Seeded bytes for keys,
// ids and signatures, so a failure replays.
import { openPostgresLedger } from '../../broker/store/postgres/open.js';
import { auditPostgres } from '../../broker/store/postgres/audit.js';
import type { Store, StoreTx } from '../../broker/store/port.js';
import { auditLedger, type AuditCheck } from '../../broker/store/sqlite/audit.js';
import { openDatabase } from '../../broker/store/sqlite/open-database.js';
import { sqliteStore } from '../../broker/store/sqlite/store.js';
import { escrowAccount, walletAccount } from '../../broker/store/accounts.js';
import type { Amount } from '../../shared/amount.js';
import { generateKeyPair } from '../../shared/keys.js';
import { tempDir } from './broker-fixture.js';
import { seededRandom } from './seed.js';

export interface Ledger {
  readonly store: Store;
  audit(options?: { verifySignatures?: boolean }): Promise<AuditCheck[]>;
  /** Runs SQL on the database itself, outside the port. */
  raw(sql: string): Promise<void>;
  close(): Promise<void>;
}

export function openSqliteLedger(): Ledger {
  const dir = tempDir('mqpay-conformance-');
  const db = openDatabase(dir.path);
  const store = sqliteStore(db, { lockWaitMs: 2_000 });
  return {
    store,
    audit: async (options = {}) => auditLedger(db, options),
    raw: async (sql) => {
      db.exec(sql);
    },
    close: async () => {
      await store.close();
      dir.remove();
    },
  };
}

export async function openPostgresTestLedger(url: string, options: { lockWaitMs?: number } = {}): Promise<Ledger & { readonly pool: import('pg').Pool }> {
  const ledger = await openPostgresLedger(url, options);
  return {
    store: ledger.store,
    pool: ledger.pool,
    audit: (options = {}) => auditPostgres(ledger.pool, options),
    raw: async (sql) => {
      await ledger.pool.query(sql);
    },
    close: () => ledger.close(),
  };
}

/** Seeded bytes: the same seed, the same keys, ids and signatures. */
export function seededBytes(seed: number): (length: number) => Uint8Array {
  const next = seededRandom(seed);
  return (length) => Uint8Array.from({ length }, () => Math.floor(next() * 256));
}

export const NOW_MS = 1_760_000_000_000;

export async function enrol(store: Store, random: (length: number) => Uint8Array, id: string, funds?: Amount): Promise<void> {
  await store.transaction(async (tx) => {
    await tx.addDevice(id, generateKeyPair(random).publicKey, NOW_MS);
    if (funds !== undefined) await tx.fund({ device: id, amount: funds, key: `enrol-${id}`, nowMs: NOW_MS });
  });
}

/** A channel opened as the service opens one (channel-open.ts): escrow account, channel row, deposit transfer. */
export async function openChannelIn(tx: StoreTx, random: (length: number) => Uint8Array, payer: string, payee: string, deposit: Amount): Promise<{ id: Uint8Array; num: bigint }> {
  const id = random(32);
  const escrow = escrowAccount(id);
  const escrowKey = await tx.ensureAccount(escrow, 'escrow');
  const num = await tx.insertChannel({
    id, payer, payee, payerWallet: await tx.accountKey(walletAccount(payer)), payeeWallet: await tx.accountKey(walletAccount(payee)), escrowAccount: escrowKey,
    deposit, expiresAtSeconds: BigInt(NOW_MS / 1000 + 86_400), certificate: random(120), certificateSignature: random(64), nowMs: NOW_MS,
  });
  await tx.insertTransfer({ id: `deposit:${num}`, from: walletAccount(payer), to: escrow, amount: deposit, kind: 'deposit', channel: num, nowMs: NOW_MS });
  return { id, num };
}

/** An accepted voucher write of `total` at `seq` (82 voucher bytes and a 64-byte signature, not verified by the store). */
export function voucherWrite(random: (length: number) => Uint8Array, channel: bigint, seq: bigint, total: bigint, redeeming = false): (tx: StoreTx) => Promise<void> {
  const voucher = random(82);
  const signature = random(64);
  return (tx) => tx.appendVoucher({ channel, seq, total: total as Amount, voucher, signature, redeeming, nowMs: NOW_MS });
}

/** The failed checks of an audit, as "name: detail" (empty when the ledger holds). */
export const failedChecks = (checks: readonly AuditCheck[]): string[] => checks.filter((check) => !check.ok).map((check) => `${check.name}: ${check.detail}`);
