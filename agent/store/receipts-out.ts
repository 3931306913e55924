// Receipts this agent signed as payee, kept until the broker has taken them, so receipts made
// while the broker was unreachable reach the payer once the link is back.
import type { Amount } from '../../shared/amount.js';
import type { StateDb } from './open-state.js';
import { bytesOf, statement } from './statement.js';

export interface ReceiptOutRow {
  readonly channel: Uint8Array;
  readonly seq: bigint;
  readonly total: Amount;
  readonly receipt: Uint8Array;
  readonly signature: Uint8Array;
}

interface RawReceipt { channel: Buffer; seq: bigint; total: bigint; receipt: Buffer; signature: Buffer }

const toRow = (row: RawReceipt): ReceiptOutRow => ({ channel: bytesOf(row.channel), seq: row.seq, total: row.total as Amount, receipt: bytesOf(row.receipt), signature: bytesOf(row.signature) });

export function insertReceiptOut(db: StateDb, row: ReceiptOutRow, nowMs: number): void {
  statement(db, "INSERT INTO receipts_out (channel, seq, total, receipt, signature, state, created_at_ms) VALUES (?, ?, ?, ?, ?, 'pending', ?)")
    .run(row.channel, row.seq, row.total, row.receipt, row.signature, BigInt(nowMs));
}

export function findReceiptOut(db: StateDb, channel: Uint8Array, seq: bigint): ReceiptOutRow | null {
  const row = statement(db, 'SELECT channel, seq, total, receipt, signature FROM receipts_out WHERE channel = ? AND seq = ?').get(channel, seq) as RawReceipt | undefined;
  return row === undefined ? null : toRow(row);
}

/** The highest pending receipt per channel: it vouches for every lower one. */
export function latestPendingReceipts(db: StateDb): ReceiptOutRow[] {
  const rows = statement(db, `SELECT r.channel, r.seq, r.total, r.receipt, r.signature FROM receipts_out r
    JOIN (SELECT channel, max(seq) AS seq FROM receipts_out WHERE state = 'pending' GROUP BY channel) m ON m.channel = r.channel AND m.seq = r.seq`).all() as RawReceipt[];
  return rows.map(toRow);
}

export function markReceiptsSentUpTo(db: StateDb, channel: Uint8Array, seq: bigint): void {
  statement(db, "UPDATE receipts_out SET state = 'sent' WHERE channel = ? AND seq <= ? AND state = 'pending'").run(channel, seq);
}

export function requeueReceipt(db: StateDb, channel: Uint8Array, seq: bigint): boolean {
  return statement(db, "UPDATE receipts_out SET state = 'pending' WHERE channel = ? AND seq = ? AND state = 'sent'").run(channel, seq).changes > 0;
}

export function countPendingReceipts(db: StateDb): number {
  return Number((statement(db, "SELECT count(*) AS n FROM receipts_out WHERE state = 'pending'").get() as { n: bigint }).n);
}

export function pruneSentReceipts(db: StateDb, beforeMs: number): number {
  return statement(db, "DELETE FROM receipts_out WHERE created_at_ms < ? AND state = 'sent'").run(BigInt(beforeMs)).changes;
}
