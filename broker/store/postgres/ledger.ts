// The double-entry ledger in PostgreSQL: accounts, immutable transfers, and the keyed transfers
// (funding, payouts, moves) with the rules of broker/store/sqlite/ledger.ts and outflows.ts. These
// run in units of work (SERIALIZABLE: store.ts), so "read the earlier transfer, then insert" is
// as safe as under SQLite's single writer: a concurrent twin aborts (40001) and its retry finds
// the first one ('already' or IDEMPOTENCY_CONFLICT).
import { amountOf, formatAmount, type Amount } from '../../../shared/amount.js';
import { assert, MqpayError } from '../../../shared/errors.js';
import { LEDGER_BALANCE_MAX } from '../../limits.js';
import { EXTERNAL_ACCOUNT, fundTransferId, moveTransferId, payoutTransferId, walletAccount, type AccountKind, type TransferKind } from '../accounts.js';
import type { FundInput, FundOutcome, MoveInput, OutflowOutcome, PayoutInput, TransferInput } from '../port.js';
import { rowOf, type Queryable } from './pool.js';

export async function ensureAccount(q: Queryable, name: string, kind: AccountKind): Promise<bigint> {
  await q.query('INSERT INTO accounts (name, kind) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, kind]);
  return accountKey(q, name);
}

export async function accountKey(q: Queryable, name: string): Promise<bigint> {
  const row = await rowOf<{ id: bigint }>(q, 'SELECT id FROM accounts WHERE name = $1', [name]);
  if (row === null) throw new Error(`no account ${name}`);
  return row.id;
}

export async function balanceOf(q: Queryable, account: string): Promise<Amount | null> {
  const row = await rowOf<{ balance: bigint }>(q, 'SELECT balance FROM accounts WHERE name = $1', [account]);
  if (row === null) return null;
  return row.balance < 0n ? (row.balance as Amount) : amountOf(row.balance);
}

/** One transfer between two named accounts; a missing account (NOT NULL) or a negative balance (CHECK) aborts it. */
export async function insertTransfer(q: Queryable, transfer: TransferInput): Promise<void> {
  if (transfer.amount <= 0n) throw new MqpayError('AMOUNT_ZERO');
  await q.query(`INSERT INTO transfers (id, from_account, to_account, amount, kind, channel, settlement, created_at_ms)
     VALUES ($1, (SELECT id FROM accounts WHERE name = $2), (SELECT id FROM accounts WHERE name = $3), $4, $5, $6, $7, $8)`,
  [transfer.id, transfer.from, transfer.to, transfer.amount, transfer.kind, transfer.channel ?? null, transfer.settlement ?? null, transfer.nowMs]);
}

interface EarlierTransfer { kind: string; from: string; to: string; amount: bigint }

function earlierTransfer(q: Queryable, id: string): Promise<EarlierTransfer | null> {
  return rowOf<EarlierTransfer>(q, `SELECT t.kind, f.name AS "from", a.name AS "to", t.amount FROM transfers t
     JOIN accounts f ON f.id = t.from_account JOIN accounts a ON a.id = t.to_account WHERE t.id = $1`, [id]);
}

export async function fund(q: Queryable, input: FundInput): Promise<FundOutcome> {
  if (input.amount <= 0n) throw new MqpayError('AMOUNT_ZERO');
  const wallet = walletAccount(input.device);
  const before = await balanceOf(q, wallet);
  if (before === null) throw new MqpayError('DEVICE_UNKNOWN', input.device);
  const earlier = await earlierTransfer(q, fundTransferId(input.key));
  if (earlier !== null) {
    if (earlier.kind !== 'fund' || earlier.to !== wallet || earlier.amount !== input.amount) throw new MqpayError('IDEMPOTENCY_CONFLICT', `key ${input.key} was used for another transfer`);
    return { kind: 'already', balance: before };
  }
  const external = (await balanceOf(q, EXTERNAL_ACCOUNT)) ?? 0n;
  if (-external + input.amount > LEDGER_BALANCE_MAX) throw new MqpayError('AMOUNT_OVERFLOW', 'total funding would pass 2^63-1 micro-units');
  await insertTransfer(q, { id: fundTransferId(input.key), from: EXTERNAL_ACCOUNT, to: wallet, amount: input.amount, kind: 'fund', nowMs: input.nowMs });
  const after = await balanceOf(q, wallet);
  assert(after !== null && after === before + input.amount, 'the wallet grew by exactly the funded amount');
  return { kind: 'funded', balance: after };
}

interface KeyedTransfer { readonly id: string; readonly kind: TransferKind; readonly from: string; readonly to: string; readonly amount: Amount; readonly key: string; readonly nowMs: number }

async function keyedTransfer(q: Queryable, transfer: KeyedTransfer, unknown: () => Promise<MqpayError>): Promise<OutflowOutcome> {
  if (transfer.amount <= 0n) throw new MqpayError('AMOUNT_ZERO');
  const before = await balanceOf(q, transfer.from);
  if (before === null || (await balanceOf(q, transfer.to)) === null) throw await unknown();
  const earlier = await earlierTransfer(q, transfer.id);
  if (earlier !== null) {
    const same = earlier.kind === transfer.kind && earlier.from === transfer.from && earlier.to === transfer.to && earlier.amount === transfer.amount;
    if (!same) throw new MqpayError('IDEMPOTENCY_CONFLICT', `key ${transfer.key} was used for another transfer`);
    return { kind: 'already', transferId: transfer.id, balance: before };
  }
  if (before < transfer.amount) throw new MqpayError('INSUFFICIENT_FUNDS', `${transfer.from} holds ${formatAmount(amountOf(before))}, asked ${formatAmount(transfer.amount)}`);
  await insertTransfer(q, { id: transfer.id, from: transfer.from, to: transfer.to, amount: transfer.amount, kind: transfer.kind, nowMs: transfer.nowMs });
  const after = await balanceOf(q, transfer.from);
  assert(after !== null && after === before - transfer.amount, 'the source lost exactly the amount moved');
  return { kind: 'moved', transferId: transfer.id, balance: after };
}

export function payout(q: Queryable, input: PayoutInput): Promise<OutflowOutcome> {
  assert(input.from !== EXTERNAL_ACCOUNT, 'a payout leaves a wallet or the fees account');
  const transfer = { id: payoutTransferId(input.key), kind: 'payout' as const, from: input.from, to: EXTERNAL_ACCOUNT, amount: input.amount, key: input.key, nowMs: input.nowMs };
  return keyedTransfer(q, transfer, async () => new MqpayError('DEVICE_UNKNOWN', input.from));
}

export function move(q: Queryable, input: MoveInput): Promise<OutflowOutcome> {
  if (input.fromDevice === input.toDevice) return Promise.reject(new MqpayError('MESSAGE_INVALID', 'a move needs two different wallets'));
  const from = walletAccount(input.fromDevice);
  const to = walletAccount(input.toDevice);
  const missing = async () => new MqpayError('DEVICE_UNKNOWN', (await balanceOf(q, from)) === null ? input.fromDevice : input.toDevice);
  return keyedTransfer(q, { id: moveTransferId(input.key), kind: 'move', from, to, amount: input.amount, key: input.key, nowMs: input.nowMs }, missing);
}
