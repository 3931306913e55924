// Channels this agent is paid through: the certificate that lets it check vouchers offline,
// and the latest voucher it holds (the one that settles).
import type { Amount } from '../../shared/amount.js';
import type { ChannelCertificate } from '../../shared/certificate.js';
import type { StateDb } from './open-state.js';
import { changedAtMostOne, changedOne } from '../../sqlite/statement.js';
import { bytesOf, bytesOrNull, statement } from './statement.js';

export interface PayeeChannel {
  readonly id: Uint8Array;
  readonly payer: string;
  /** null while the channel is known only from a voucher the service forwarded. */
  readonly payerKey: Uint8Array | null;
  readonly deposit: Amount | null;
  readonly expiresAtSeconds: bigint | null;
  readonly revision: number;
  readonly state: 'open' | 'closed';
  readonly receivedSeq: bigint;
  readonly receivedTotal: Amount;
  readonly settledTotal: Amount;
}

interface RawPayeeChannel {
  id: Buffer; payer: string; payer_key: Buffer | null; deposit: bigint | null; expires_at_s: bigint | null; revision: bigint;
  state: 'open' | 'closed'; received_seq: bigint; received_total: bigint; settled_total: bigint;
}

function toPayeeChannel(row: RawPayeeChannel): PayeeChannel {
  return {
    id: bytesOf(row.id), payer: row.payer, payerKey: bytesOrNull(row.payer_key), deposit: row.deposit as Amount | null,
    expiresAtSeconds: row.expires_at_s, revision: Number(row.revision), state: row.state, receivedSeq: row.received_seq,
    receivedTotal: row.received_total as Amount, settledTotal: row.settled_total as Amount,
  };
}

const COLUMNS = 'id, payer, payer_key, deposit, expires_at_s, revision, state, received_seq, received_total, settled_total';

export function getPayeeChannel(db: StateDb, id: Uint8Array): PayeeChannel | null {
  const row = statement(db, `SELECT ${COLUMNS} FROM payee_channels WHERE id = ?`).get(id) as RawPayeeChannel | undefined;
  return row === undefined ? null : toPayeeChannel(row);
}

export function listPayeeChannels(db: StateDb): PayeeChannel[] {
  return (statement(db, `SELECT ${COLUMNS} FROM payee_channels ORDER BY updated_at_ms, id`).all() as RawPayeeChannel[]).map(toPayeeChannel);
}

/** Stores a checked certificate; a lower or equal revision never replaces a higher one. */
export function upsertPayeeCertificate(db: StateDb, certificate: ChannelCertificate, bytes: Uint8Array, signature: Uint8Array, nowMs: number): void {
  statement(db, `INSERT INTO payee_channels (id, payer, payer_key, deposit, expires_at_s, revision, certificate, certificate_signature, state, updated_at_ms)
      VALUES (@id, @payer, @payerKey, @deposit, @expires, @revision, @certificate, @signature, 'open', @now)
    ON CONFLICT (id) DO UPDATE SET payer_key = @payerKey, deposit = @deposit, expires_at_s = @expires, revision = @revision,
      certificate = @certificate, certificate_signature = @signature, updated_at_ms = @now
    WHERE payee_channels.revision < @revision`)
    .run({
      id: certificate.channelId, payer: certificate.payer, payerKey: certificate.payerKey, deposit: certificate.deposit, expires: certificate.expiresAtSeconds,
      revision: BigInt(certificate.revision), certificate: bytes, signature, now: BigInt(nowMs),
    });
}

/** A channel first seen in a voucher the service forwarded (its certificate was missed). */
export function insertUncertifiedChannel(db: StateDb, id: Uint8Array, payer: string, nowMs: number): void {
  statement(db, "INSERT OR IGNORE INTO payee_channels (id, payer, state, updated_at_ms) VALUES (?, ?, 'open', ?)").run(id, payer, BigInt(nowMs));
}

export interface ReceivedVoucher {
  readonly channel: Uint8Array;
  readonly seq: bigint;
  readonly total: Amount;
  readonly amount: Amount;
  readonly voucher: Uint8Array;
  readonly signature: Uint8Array;
  readonly source: 'service' | 'direct';
  readonly nowMs: number;
}

export function recordReceivedVoucher(db: StateDb, received: ReceivedVoucher): void {
  changedOne(statement(db, 'UPDATE payee_channels SET received_seq = ?, received_total = ?, received_voucher = ?, received_signature = ?, updated_at_ms = ? WHERE id = ?')
    .run(received.seq, received.total, received.voucher, received.signature, BigInt(received.nowMs), received.channel), 'a received voucher on its known channel');
  statement(db, 'INSERT INTO received_vouchers (channel, seq, total, amount, voucher, signature, source, received_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
    .run(received.channel, received.seq, received.total, received.amount, received.voucher, received.signature, received.source, BigInt(received.nowMs));
}

export function recordPayeeSettled(db: StateDb, id: Uint8Array, settledTotal: Amount): boolean {
  return changedAtMostOne(statement(db, 'UPDATE payee_channels SET settled_total = ? WHERE id = ? AND settled_total < ?').run(settledTotal, id, settledTotal), 'a payee settled total');
}

/** A close notice may name a channel this payee never had a certificate for: then nothing changes. */
export function markPayeeChannelClosed(db: StateDb, id: Uint8Array): boolean {
  return changedAtMostOne(statement(db, "UPDATE payee_channels SET state = 'closed' WHERE id = ?").run(id), 'a payee channel closed');
}

export function pruneReceivedVouchers(db: StateDb, beforeMs: number): number {
  return statement(db, 'DELETE FROM received_vouchers WHERE received_at_ms < ?').run(BigInt(beforeMs)).changes;
}

/** The voucher this payee holds on a channel (its signed bytes and the payer's signature), for redemption. */
export function heldVoucher(db: StateDb, id: Uint8Array): { seq: bigint; total: Amount; voucher: Uint8Array; signature: Uint8Array } | null {
  const row = statement(db, 'SELECT received_seq, received_total, received_voucher, received_signature FROM payee_channels WHERE id = ? AND received_voucher IS NOT NULL AND received_signature IS NOT NULL')
    .get(id) as { received_seq: bigint; received_total: bigint; received_voucher: Buffer; received_signature: Buffer } | undefined;
  return row === undefined ? null : { seq: row.received_seq, total: row.received_total as Amount, voucher: bytesOf(row.received_voucher), signature: bytesOf(row.received_signature) };
}

/** The certificate this payee holds for a channel and the service's signature, to hand back after a restore. */
export function payeeCertificate(db: StateDb, id: Uint8Array): { certificate: Uint8Array; signature: Uint8Array } | null {
  const row = statement(db, 'SELECT certificate, certificate_signature FROM payee_channels WHERE id = ? AND certificate IS NOT NULL AND certificate_signature IS NOT NULL')
    .get(id) as { certificate: Buffer; certificate_signature: Buffer } | undefined;
  return row === undefined ? null : { certificate: bytesOf(row.certificate), signature: bytesOf(row.certificate_signature) };
}
