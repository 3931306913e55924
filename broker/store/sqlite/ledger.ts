// The double-entry ledger: accounts and immutable transfers. A transfer moves `amount` from one
// account to another; the `transfers_apply` trigger updates both balances in the same statement,
// so there is no way to move money except by a transfer with a unique, client-chosen id.
import { amountOf, type Amount } from '../../../shared/amount.js';
import { assert, MqpayError } from '../../../shared/errors.js';
import { toHex } from '../../../shared/hex.js';
import type { Db } from './open-database.js';
import { statement } from '../../../sqlite/statement.js';
import { EXTERNAL_ACCOUNT, fundTransferId, walletAccount, type AccountKind } from '../accounts.js';
import type { FundOutcome, TransferInput } from '../port.js';
import { LEDGER_BALANCE_MAX } from '../../limits.js';

/** Creates the account if it is missing; returns its integer key. */
export function ensureAccount(db: Db, name: string, kind: AccountKind): bigint {
  statement(db, 'INSERT INTO accounts (name, kind) VALUES (?, ?) ON CONFLICT (name) DO NOTHING').run(name, kind);
  return accountKey(db, name);
}

export function accountKey(db: Db, name: string): bigint {
  const row = statement(db, 'SELECT id FROM accounts WHERE name = ?').get(name) as { id: bigint } | undefined;
  if (row === undefined) throw new Error(`no account ${name}`);
  return row.id;
}

export function balanceOf(db: Db, account: string): Amount | null {
  const row = statement(db, 'SELECT balance FROM accounts WHERE name = ?').get(account) as { balance: bigint } | undefined;
  if (row === undefined) return null;
  return row.balance < 0n ? (row.balance as Amount) : amountOf(row.balance);
}

/**
 * Records one transfer between two named accounts. Must run inside the caller's transaction; a
 * missing account (NOT NULL) or a balance below zero (CHECK) aborts it.
 */
export function insertTransfer(db: Db, transfer: TransferInput): void {
  if (transfer.amount <= 0n) throw new MqpayError('AMOUNT_ZERO');
  statement(
    db,
    `INSERT INTO transfers (id, from_account, to_account, amount, kind, channel, settlement, created_at_ms)
     VALUES (?, (SELECT id FROM accounts WHERE name = ?), (SELECT id FROM accounts WHERE name = ?), ?, ?, ?, ?, ?)`,
  ).run(transfer.id, transfer.from, transfer.to, transfer.amount, transfer.kind, transfer.channel ?? null, transfer.settlement ?? null, BigInt(transfer.nowMs));
}

export function transferExists(db: Db, id: string): boolean {
  return statement(db, 'SELECT 1 FROM transfers WHERE id = ?').get(id) !== undefined;
}

/**
 * Moves money from outside into a device's wallet, inside the caller's transaction. `key` is the
 * caller's idempotency key and becomes the transfer id: repeating the same funding funds once;
 * the same key for another wallet or amount is IDEMPOTENCY_CONFLICT, never a silent success.
 * The one place this rule lives: the HTTP API, the CLI and the simulator all come here.
 */
export function fundInTransaction(db: Db, input: { device: string; amount: Amount; key: string; nowMs: number }): FundOutcome {
  if (input.amount <= 0n) throw new MqpayError('AMOUNT_ZERO');
  const wallet = walletAccount(input.device);
  const before = balanceOf(db, wallet);
  if (before === null) throw new MqpayError('DEVICE_UNKNOWN', input.device);
  const transferId = fundTransferId(input.key);
  const earlier = statement(db, 'SELECT a.name AS wallet, t.amount, t.kind FROM transfers t JOIN accounts a ON a.id = t.to_account WHERE t.id = ?').get(transferId) as { wallet: string; amount: bigint; kind: string } | undefined;
  if (earlier !== undefined) {
    if (earlier.kind !== 'fund' || earlier.wallet !== wallet || earlier.amount !== input.amount) {
      throw new MqpayError('IDEMPOTENCY_CONFLICT', `key ${input.key} was used for another transfer`);
    }
    return { kind: 'already', balance: before };
  }
  const external = balanceOf(db, EXTERNAL_ACCOUNT) ?? 0n;
  if (-external + input.amount > LEDGER_BALANCE_MAX) throw new MqpayError('AMOUNT_OVERFLOW', 'total funding would pass 2^63-1 micro-units');
  insertTransfer(db, { id: transferId, from: EXTERNAL_ACCOUNT, to: wallet, amount: input.amount, kind: 'fund', nowMs: input.nowMs });
  const after = balanceOf(db, wallet);
  assert(after !== null && after === before + input.amount, 'the wallet grew by exactly the funded amount');
  return { kind: 'funded', balance: after };
}

/** Funding as its own transaction, for callers that hold the database file (admin CLI, tests). */
export function fundWallet(db: Db, device: string, amount: Amount, key: string, nowMs: number): FundOutcome {
  return db.transaction(() => fundInTransaction(db, { device, amount, key, nowMs })).immediate();
}

export interface AccountRow {
  readonly id: string;
  readonly kind: AccountKind;
  readonly balance: bigint;
}

export function listAccounts(db: Db, kind?: AccountKind): AccountRow[] {
  const rows = kind === undefined
    ? statement(db, 'SELECT name AS id, kind, balance FROM accounts ORDER BY name').all()
    : statement(db, 'SELECT name AS id, kind, balance FROM accounts WHERE kind = ? ORDER BY name').all(kind);
  return rows as AccountRow[];
}
