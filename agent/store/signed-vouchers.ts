// Vouchers this agent signed as payer. Inserted (and committed) before publishing; only their
// state changes afterwards.
import type { Amount } from '../../shared/amount.js';
import type { StateDb } from './open-state.js';
import { bytesOf, statement } from './statement.js';

export type SignedVoucherState = 'pending' | 'accepted' | 'rejected';

export interface SignedVoucherRow {
  readonly channel: Uint8Array;
  readonly seq: bigint;
  readonly total: Amount;
  readonly amount: Amount;
  readonly payee: string;
  readonly voucher: Uint8Array;
  readonly signature: Uint8Array;
  readonly memo: string | null;
  /** The memo digest's salt: the payer hands it to the payee with the memo, never to the service. */
  readonly memoSalt: Uint8Array | null;
  readonly state: SignedVoucherState;
  readonly error: string | null;
  readonly signedAtMs: number;
}

interface RawSignedVoucher {
  channel: Buffer; seq: bigint; total: bigint; amount: bigint; payee: string; voucher: Buffer; signature: Buffer;
  memo: string | null; memo_salt: Buffer | null; state: SignedVoucherState; error: string | null; signed_at_ms: bigint;
}

function toRow(row: RawSignedVoucher): SignedVoucherRow {
  return {
    channel: bytesOf(row.channel), seq: row.seq, total: row.total as Amount, amount: row.amount as Amount, payee: row.payee,
    voucher: bytesOf(row.voucher), signature: bytesOf(row.signature), memo: row.memo, memoSalt: row.memo_salt === null ? null : bytesOf(row.memo_salt), state: row.state, error: row.error,
    signedAtMs: Number(row.signed_at_ms),
  };
}

export function insertSignedVoucher(db: StateDb, row: Omit<SignedVoucherRow, 'state' | 'error'>): void {
  statement(db, `INSERT INTO signed_vouchers (channel, seq, total, amount, payee, voucher, signature, memo, memo_salt, state, signed_at_ms)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)`)
    .run(row.channel, row.seq, row.total, row.amount, row.payee, row.voucher, row.signature, row.memo, row.memoSalt, BigInt(row.signedAtMs));
}

/** A cumulative voucher accepted at `seq` settles every earlier one of its channel too. */
export function markAcceptedUpTo(db: StateDb, channel: Uint8Array, seq: bigint): number {
  return statement(db, "UPDATE signed_vouchers SET state = 'accepted' WHERE channel = ? AND seq <= ? AND state = 'pending'").run(channel, seq).changes;
}

export function markRejectedUpTo(db: StateDb, channel: Uint8Array, seq: bigint, error: string): number {
  return statement(db, "UPDATE signed_vouchers SET state = 'rejected', error = ? WHERE channel = ? AND seq <= ? AND state = 'pending'").run(error, channel, seq).changes;
}

export function findSignedVoucher(db: StateDb, channel: Uint8Array, seq: bigint): SignedVoucherRow | null {
  const row = statement(db, 'SELECT * FROM signed_vouchers WHERE channel = ? AND seq = ?').get(channel, seq) as RawSignedVoucher | undefined;
  return row === undefined ? null : toRow(row);
}

/** The highest pending voucher of each channel: re-sending it re-sends all the lower ones. */
export function latestPendingPerChannel(db: StateDb): SignedVoucherRow[] {
  const rows = statement(db, `SELECT v.* FROM signed_vouchers v
    JOIN (SELECT channel, max(seq) AS seq FROM signed_vouchers WHERE state = 'pending' GROUP BY channel) m ON m.channel = v.channel AND m.seq = v.seq`).all() as RawSignedVoucher[];
  return rows.map(toRow);
}

export function hasPendingAbove(db: StateDb, channel: Uint8Array, seq: bigint): boolean {
  return statement(db, "SELECT 1 FROM signed_vouchers WHERE channel = ? AND seq > ? AND state = 'pending' LIMIT 1").get(channel, seq) !== undefined;
}

export function listPendingVouchers(db: StateDb, limit: number): SignedVoucherRow[] {
  return (statement(db, "SELECT * FROM signed_vouchers WHERE state = 'pending' ORDER BY signed_at_ms, seq LIMIT ?").all(BigInt(limit)) as RawSignedVoucher[]).map(toRow);
}

export function countPendingVouchers(db: StateDb): number {
  return Number((statement(db, "SELECT count(*) AS n FROM signed_vouchers WHERE state = 'pending'").get() as { n: bigint }).n);
}

/** Forgets answered vouchers older than `beforeMs`; pending ones are kept whatever their age. */
export function pruneSignedVouchers(db: StateDb, beforeMs: number): number {
  return statement(db, "DELETE FROM signed_vouchers WHERE signed_at_ms < ? AND state <> 'pending'").run(BigInt(beforeMs)).changes;
}
