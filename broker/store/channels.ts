// Channels: one payer, one payee, an escrowed deposit, and the latest accepted voucher.
import type { Amount } from '../../shared/amount.js';
import type { Db } from './open-database.js';
import { statement } from './statement.js';

export interface ChannelRow {
  readonly id: Uint8Array;
  readonly payer: string;
  readonly payee: string;
  readonly deposit: Amount;
  readonly expiresAtSeconds: bigint;
  readonly state: 'open' | 'closed';
  readonly revision: number;
  readonly certificate: Uint8Array;
  readonly certificateSignature: Uint8Array;
  readonly latestSeq: bigint;
  readonly latestTotal: Amount;
  readonly latestSignature: Uint8Array | null;
  readonly settledTotal: Amount;
  readonly openedAtMs: number;
  readonly closedAtMs: number | null;
}

interface RawChannel {
  id: Buffer; payer: string; payee: string; deposit: bigint; expires_at_s: bigint; state: 'open' | 'closed';
  revision: bigint; certificate: Buffer; certificate_signature: Buffer; latest_seq: bigint; latest_total: bigint;
  latest_signature: Buffer | null; settled_total: bigint; opened_at_ms: bigint; closed_at_ms: bigint | null;
}

function toChannel(row: RawChannel): ChannelRow {
  return {
    id: new Uint8Array(row.id),
    payer: row.payer,
    payee: row.payee,
    deposit: row.deposit as Amount,
    expiresAtSeconds: row.expires_at_s,
    state: row.state,
    revision: Number(row.revision),
    certificate: new Uint8Array(row.certificate),
    certificateSignature: new Uint8Array(row.certificate_signature),
    latestSeq: row.latest_seq,
    latestTotal: row.latest_total as Amount,
    latestSignature: row.latest_signature === null ? null : new Uint8Array(row.latest_signature),
    settledTotal: row.settled_total as Amount,
    openedAtMs: Number(row.opened_at_ms),
    closedAtMs: row.closed_at_ms === null ? null : Number(row.closed_at_ms),
  };
}

export function getChannel(db: Db, id: Uint8Array): ChannelRow | null {
  const row = statement(db, 'SELECT * FROM channels WHERE id = ?').get(id) as RawChannel | undefined;
  return row === undefined ? null : toChannel(row);
}

/** Channels where the device is payer or payee, newest first, bounded. */
export function listChannelsOf(db: Db, device: string, limit: number): ChannelRow[] {
  const rows = statement(
    db,
    'SELECT * FROM channels WHERE payer = ?1 UNION ALL SELECT * FROM channels WHERE payee = ?1 AND payer <> ?1 ORDER BY opened_at_ms DESC LIMIT ?2',
  ).all(device, BigInt(limit)) as RawChannel[];
  return rows.map(toChannel);
}

export function listChannels(db: Db, limit: number, offset = 0): ChannelRow[] {
  const rows = statement(db, 'SELECT * FROM channels ORDER BY opened_at_ms DESC, id LIMIT ? OFFSET ?').all(BigInt(limit), BigInt(offset)) as RawChannel[];
  return rows.map(toChannel);
}

export function countOpenChannelsOfPayer(db: Db, payer: string): number {
  const row = statement(db, "SELECT count(*) AS n FROM channels WHERE payer = ? AND state = 'open'").get(payer) as { n: bigint };
  return Number(row.n);
}

export interface NewChannel {
  readonly id: Uint8Array;
  readonly payer: string;
  readonly payee: string;
  readonly deposit: Amount;
  readonly expiresAtSeconds: bigint;
  readonly certificate: Uint8Array;
  readonly certificateSignature: Uint8Array;
  readonly nowMs: number;
}

export function insertChannel(db: Db, channel: NewChannel): void {
  statement(
    db,
    `INSERT INTO channels (id, payer, payee, deposit, expires_at_s, state, revision, certificate, certificate_signature, opened_at_ms)
     VALUES (?, ?, ?, ?, ?, 'open', 1, ?, ?, ?)`,
  ).run(channel.id, channel.payer, channel.payee, channel.deposit, channel.expiresAtSeconds, channel.certificate, channel.certificateSignature, BigInt(channel.nowMs));
}

export function updateChannelDeposit(db: Db, id: Uint8Array, deposit: Amount, revision: number, certificate: Uint8Array, signature: Uint8Array): void {
  statement(db, 'UPDATE channels SET deposit = ?, revision = ?, certificate = ?, certificate_signature = ? WHERE id = ?').run(deposit, BigInt(revision), certificate, signature, id);
}

export function markChannelClosed(db: Db, id: Uint8Array, nowMs: number): void {
  statement(db, "UPDATE channels SET state = 'closed', closed_at_ms = ? WHERE id = ?").run(BigInt(nowMs), id);
}

/** Records an accepted voucher: the log row and the channel's latest, in the caller's transaction. */
export function recordVoucher(db: Db, channel: Uint8Array, seq: bigint, total: Amount, signature: Uint8Array, nowMs: number): void {
  statement(db, 'INSERT INTO vouchers (channel, seq, total, signature, accepted_at_ms) VALUES (?, ?, ?, ?, ?)').run(channel, seq, total, signature, BigInt(nowMs));
  statement(db, 'UPDATE channels SET latest_seq = ?, latest_total = ?, latest_signature = ? WHERE id = ?').run(seq, total, signature, channel);
}

export function findVoucher(db: Db, channel: Uint8Array, seq: bigint): { total: Amount; signature: Uint8Array } | null {
  const row = statement(db, 'SELECT total, signature FROM vouchers WHERE channel = ? AND seq = ?').get(channel, seq) as { total: bigint; signature: Buffer } | undefined;
  return row === undefined ? null : { total: row.total as Amount, signature: new Uint8Array(row.signature) };
}

export function recordDoubleSign(db: Db, evidence: { channel: Uint8Array; seq: bigint; acceptedTotal: Amount; conflictingTotal: Amount; voucher: Uint8Array; signature: Uint8Array; nowMs: number }): void {
  statement(
    db,
    'INSERT OR IGNORE INTO double_signs (channel, seq, accepted_total, conflicting_total, voucher, signature, detected_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
  ).run(evidence.channel, evidence.seq, evidence.acceptedTotal, evidence.conflictingTotal, evidence.voucher, evidence.signature, BigInt(evidence.nowMs));
}

export function listExpiredOpenChannels(db: Db, nowSeconds: bigint, limit: number): ChannelRow[] {
  const rows = statement(db, "SELECT * FROM channels WHERE state = 'open' AND expires_at_s <= ? ORDER BY expires_at_s LIMIT ?").all(nowSeconds, BigInt(limit)) as RawChannel[];
  return rows.map(toChannel);
}
