// Money leaving a wallet other than into a channel: a payout (a wallet or the fees account to
// external) and an operator's move (wallet to wallet) [docs/DESIGN.md rule 13]. Each is one
// immutable transfer whose id is the operator's idempotency key in the kind's namespace, so a
// retry moves nothing again and the same key for another transfer is IDEMPOTENCY_CONFLICT.
// Only the balance is available: money in escrow belongs to its channel until it settles.
import { amountOf, formatAmount, type Amount } from '../../../shared/amount.js';
import { assert, MqpayError } from '../../../shared/errors.js';
import { statement } from '../../../sqlite/statement.js';
import { EXTERNAL_ACCOUNT, moveTransferId, payoutTransferId, walletAccount, type TransferKind } from '../accounts.js';
import type { MoveInput, OutflowOutcome, PayoutInput } from '../port.js';
import { balanceOf, insertTransfer } from './ledger.js';
import type { Db } from './open-database.js';

interface KeyedTransfer {
  readonly id: string;
  readonly kind: TransferKind;
  readonly from: string;
  readonly to: string;
  readonly amount: Amount;
  readonly key: string;
  readonly nowMs: number;
}

function earlierTransfer(db: Db, id: string): { kind: string; from: string; to: string; amount: bigint } | undefined {
  return statement(
    db,
    `SELECT t.kind, f.name AS "from", a.name AS "to", t.amount FROM transfers t
     JOIN accounts f ON f.id = t.from_account JOIN accounts a ON a.id = t.to_account WHERE t.id = ?`,
  ).get(id) as { kind: string; from: string; to: string; amount: bigint } | undefined;
}

/** One keyed transfer out of `from`, inside the caller's transaction. */
function keyedTransfer(db: Db, transfer: KeyedTransfer, unknown: () => MqpayError): OutflowOutcome {
  if (transfer.amount <= 0n) throw new MqpayError('AMOUNT_ZERO');
  const before = balanceOf(db, transfer.from);
  if (before === null || balanceOf(db, transfer.to) === null) throw unknown();
  const earlier = earlierTransfer(db, transfer.id);
  if (earlier !== undefined) {
    const same = earlier.kind === transfer.kind && earlier.from === transfer.from && earlier.to === transfer.to && earlier.amount === transfer.amount;
    if (!same) throw new MqpayError('IDEMPOTENCY_CONFLICT', `key ${transfer.key} was used for another transfer`);
    return { kind: 'already', transferId: transfer.id, balance: before };
  }
  if (before < transfer.amount) throw new MqpayError('INSUFFICIENT_FUNDS', `${transfer.from} holds ${formatAmount(amountOf(before))}, asked ${formatAmount(transfer.amount)}`);
  insertTransfer(db, { id: transfer.id, from: transfer.from, to: transfer.to, amount: transfer.amount, kind: transfer.kind, nowMs: transfer.nowMs });
  const after = balanceOf(db, transfer.from);
  assert(after !== null && after === before - transfer.amount, 'the source lost exactly the amount moved');
  return { kind: 'moved', transferId: transfer.id, balance: after };
}

export function payoutInTransaction(db: Db, input: PayoutInput): OutflowOutcome {
  assert(input.from !== EXTERNAL_ACCOUNT, 'a payout leaves a wallet or the fees account');
  const transfer = { id: payoutTransferId(input.key), kind: 'payout' as const, from: input.from, to: EXTERNAL_ACCOUNT, amount: input.amount, key: input.key, nowMs: input.nowMs };
  return keyedTransfer(db, transfer, () => new MqpayError('DEVICE_UNKNOWN', input.from));
}

export function moveInTransaction(db: Db, input: MoveInput): OutflowOutcome {
  if (input.fromDevice === input.toDevice) throw new MqpayError('MESSAGE_INVALID', 'a move needs two different wallets');
  const from = walletAccount(input.fromDevice);
  const to = walletAccount(input.toDevice);
  const missing = () => new MqpayError('DEVICE_UNKNOWN', balanceOf(db, from) === null ? input.fromDevice : input.toDevice);
  return keyedTransfer(db, { id: moveTransferId(input.key), kind: 'move', from, to, amount: input.amount, key: input.key, nowMs: input.nowMs }, missing);
}

/** A payout as its own transaction, for callers that hold the database file (admin CLI). */
export function payoutNow(db: Db, input: PayoutInput): OutflowOutcome {
  return db.transaction(() => payoutInTransaction(db, input)).immediate();
}

/** A move as its own transaction, for callers that hold the database file (admin CLI). */
export function moveNow(db: Db, input: MoveInput): OutflowOutcome {
  return db.transaction(() => moveInTransaction(db, input)).immediate();
}
