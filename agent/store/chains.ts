// Hash-chain ticks in the agent's store (protocol v3): the payer's chain per channel (its seed,
// signed checkpoint and highest index released) and the payee's highest checked tick.
import type { StateDb } from './open-state.js';
import type { Amount } from '../../shared/amount.js';
import { changedAtMostOne, changedOne } from '../../sqlite/statement.js';
import { bytesOf, statement } from './statement.js';

export interface PayerChainRow {
  readonly channel: Uint8Array;
  readonly seq: bigint;
  readonly seed: Uint8Array;
  readonly checkpoint: Uint8Array;
  readonly signature: Uint8Array;
  readonly releasedIndex: number;
}

/** Stores a new chain for the channel (replacing the one before); in the checkpoint's durable write. */
export function putPayerChain(db: StateDb, row: Omit<PayerChainRow, 'releasedIndex'>): void {
  changedOne(statement(db, `INSERT INTO payer_chains (channel, seq, seed, checkpoint, signature, released_index) VALUES (?, ?, ?, ?, ?, 0)
    ON CONFLICT (channel) DO UPDATE SET seq = excluded.seq, seed = excluded.seed, checkpoint = excluded.checkpoint, signature = excluded.signature, released_index = 0`)
    .run(row.channel, row.seq, row.seed, row.checkpoint, row.signature), 'a payer chain');
}

/** Records the highest index released; only upwards. */
export function releaseTicks(db: StateDb, channel: Uint8Array, seq: bigint, index: number): void {
  changedOne(statement(db, 'UPDATE payer_chains SET released_index = ? WHERE channel = ? AND seq = ? AND released_index < ?').run(BigInt(index), channel, seq, BigInt(index)), 'ticks released');
}

export function getPayerChain(db: StateDb, channel: Uint8Array): PayerChainRow | null {
  const row = statement(db, 'SELECT channel, seq, seed, checkpoint, signature, released_index FROM payer_chains WHERE channel = ?').get(channel) as
    { channel: Buffer; seq: bigint; seed: Buffer; checkpoint: Buffer; signature: Buffer; released_index: bigint } | undefined;
  if (row === undefined) return null;
  return { channel: bytesOf(row.channel), seq: row.seq, seed: bytesOf(row.seed), checkpoint: bytesOf(row.checkpoint), signature: bytesOf(row.signature), releasedIndex: Number(row.released_index) };
}

export interface PayeeChainRow {
  readonly checkpoint: Uint8Array;
  readonly signature: Uint8Array;
  readonly highestIndex: number;
  readonly highestLink: Uint8Array;
}

/** The payee's chain of a channel: a new checkpoint replaces it, a tick moves its highest up. */
export function putPayeeChain(db: StateDb, channel: Uint8Array, row: PayeeChainRow): void {
  changedOne(statement(db, `INSERT INTO payee_chains (channel, checkpoint, signature, highest_index, highest_link) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (channel) DO UPDATE SET checkpoint = excluded.checkpoint, signature = excluded.signature, highest_index = excluded.highest_index, highest_link = excluded.highest_link`)
    .run(channel, row.checkpoint, row.signature, BigInt(row.highestIndex), row.highestLink), 'a payee chain');
}

export function getPayeeChain(db: StateDb, channel: Uint8Array): PayeeChainRow | null {
  const row = statement(db, 'SELECT checkpoint, signature, highest_index, highest_link FROM payee_chains WHERE channel = ?').get(channel) as
    { checkpoint: Buffer; signature: Buffer; highest_index: bigint; highest_link: Buffer } | undefined;
  if (row === undefined) return null;
  return { checkpoint: bytesOf(row.checkpoint), signature: bytesOf(row.signature), highestIndex: Number(row.highest_index), highestLink: bytesOf(row.highest_link) };
}

/** The service accepted the chain up to `total`: a tick raises the accepted total at the checkpoint's seq. */
export function recordTickAccepted(db: StateDb, channel: Uint8Array, seq: bigint, total: Amount): boolean {
  return changedAtMostOne(statement(db, 'UPDATE payer_channels SET accepted_seq = ?, accepted_total = ? WHERE id = ? AND (accepted_seq < ? OR (accepted_seq = ? AND accepted_total < ?))')
    .run(seq, total, channel, seq, seq, total), 'an accepted tick');
}

/**
 * The payee's channel now holds the chain's total at the checkpoint's seq. The voucher it held
 * before is superseded (the chain pays more), so it is no longer offered for redemption.
 */
export function recordTicksReceived(db: StateDb, channel: Uint8Array, seq: bigint, total: Amount, nowMs: number): boolean {
  return changedAtMostOne(statement(db, `UPDATE payee_channels SET received_seq = ?, received_total = ?, received_voucher = NULL, received_signature = NULL, updated_at_ms = ?
    WHERE id = ? AND (received_seq < ? OR (received_seq = ? AND received_total < ?))`).run(seq, total, BigInt(nowMs), channel, seq, seq, total), 'ticks received');
}
