// Channels this agent pays into, with the last signed, accepted and receipted (seq, total).
import type { Amount } from '../../shared/amount.js';
import type { StateDb } from './open-state.js';
import { changedAtMostOne, changedOne } from '../../sqlite/statement.js';
import { bytesOf, bytesOrNull, statement } from './statement.js';

export type PayerChannelState = 'opening' | 'open' | 'failed' | 'closed';

export interface PayerChannel {
  readonly id: Uint8Array;
  readonly payee: string;
  readonly state: PayerChannelState;
  readonly openRequest: string;
  readonly deposit: Amount;
  readonly durationSeconds: number;
  readonly expiresAtSeconds: bigint;
  readonly revision: number;
  readonly certificate: Uint8Array | null;
  /** The service's signature over `certificate` (to hand back with it after a restore). */
  readonly certificateSignature: Uint8Array | null;
  readonly payeeKey: Uint8Array | null;
  readonly signedSeq: bigint;
  readonly signedTotal: Amount;
  /** Seqs up to this one are reserved durably: signing inside the block needs no fsync. */
  readonly reservedSeq: bigint;
  /** false after a restart skipped unsynced seqs, until the service's accepted total is adopted. */
  readonly synced: boolean;
  readonly acceptedSeq: bigint;
  readonly acceptedTotal: Amount;
  readonly receiptSeq: bigint;
  readonly receiptTotal: Amount;
  readonly receiptSignature: Uint8Array | null;
  readonly settledTotal: Amount;
  readonly topupRequest: string | null;
  readonly topupAmount: Amount | null;
  readonly error: string | null;
  readonly createdAtMs: number;
}

interface RawPayerChannel {
  id: Buffer; payee: string; state: PayerChannelState; open_request: string; deposit: bigint; duration_s: bigint;
  expires_at_s: bigint; revision: bigint; certificate: Buffer | null; certificate_signature: Buffer | null; payee_key: Buffer | null;
  signed_seq: bigint; signed_total: bigint; reserved_seq: bigint; synced: bigint; accepted_seq: bigint; accepted_total: bigint; receipt_seq: bigint;
  receipt_total: bigint; receipt_signature: Buffer | null; settled_total: bigint; topup_request: string | null; topup_amount: bigint | null;
  error: string | null; created_at_ms: bigint;
}

function toPayerChannel(row: RawPayerChannel): PayerChannel {
  return {
    id: bytesOf(row.id), payee: row.payee, state: row.state, openRequest: row.open_request,
    deposit: row.deposit as Amount, durationSeconds: Number(row.duration_s), expiresAtSeconds: row.expires_at_s,
    revision: Number(row.revision), certificate: bytesOrNull(row.certificate), certificateSignature: bytesOrNull(row.certificate_signature), payeeKey: bytesOrNull(row.payee_key),
    signedSeq: row.signed_seq, signedTotal: row.signed_total as Amount, reservedSeq: row.reserved_seq, synced: row.synced === 1n, acceptedSeq: row.accepted_seq,
    acceptedTotal: row.accepted_total as Amount, receiptSeq: row.receipt_seq, receiptTotal: row.receipt_total as Amount,
    receiptSignature: bytesOrNull(row.receipt_signature), settledTotal: row.settled_total as Amount, topupRequest: row.topup_request, topupAmount: row.topup_amount as Amount | null,
    error: row.error, createdAtMs: Number(row.created_at_ms),
  };
}

const COLUMNS = `id, payee, state, open_request, deposit, duration_s, expires_at_s, revision, certificate, certificate_signature, payee_key,
  signed_seq, signed_total, reserved_seq, synced, accepted_seq, accepted_total, receipt_seq, receipt_total, receipt_signature, settled_total,
  topup_request, topup_amount, error, created_at_ms`;

export function getPayerChannel(db: StateDb, id: Uint8Array): PayerChannel | null {
  const row = statement(db, `SELECT ${COLUMNS} FROM payer_channels WHERE id = ?`).get(id) as RawPayerChannel | undefined;
  return row === undefined ? null : toPayerChannel(row);
}

export function listPayerChannels(db: StateDb): PayerChannel[] {
  return (statement(db, `SELECT ${COLUMNS} FROM payer_channels ORDER BY created_at_ms, id`).all() as RawPayerChannel[]).map(toPayerChannel);
}

/** The newest open channel to `payee` that stays valid past `validUntilSeconds`. */
export function usablePayerChannel(db: StateDb, payee: string, validUntilSeconds: bigint): PayerChannel | null {
  const row = statement(db, `SELECT ${COLUMNS} FROM payer_channels WHERE payee = ? AND state = 'open' AND expires_at_s > ? ORDER BY created_at_ms DESC, id LIMIT 1`)
    .get(payee, validUntilSeconds) as RawPayerChannel | undefined;
  return row === undefined ? null : toPayerChannel(row);
}

/**
 * The payee's key as the newest service-signed channel certificate to it states, or null: what a
 * buyer checks a seller's offer signature against [docs/PROTOCOL.md "Paying against an offer"].
 */
export function certifiedPayeeKey(db: StateDb, payee: string): Uint8Array | null {
  const row = statement(db, 'SELECT payee_key FROM payer_channels WHERE payee = ? AND payee_key IS NOT NULL ORDER BY created_at_ms DESC LIMIT 1').get(payee) as { payee_key: Buffer } | undefined;
  return row === undefined ? null : bytesOf(row.payee_key);
}

export function channelsInState(db: StateDb, state: PayerChannelState): PayerChannel[] {
  return (statement(db, `SELECT ${COLUMNS} FROM payer_channels WHERE state = ? ORDER BY created_at_ms`).all(state) as RawPayerChannel[]).map(toPayerChannel);
}

export function insertOpeningChannel(db: StateDb, channel: { id: Uint8Array; payee: string; openRequest: string; deposit: Amount; durationSeconds: number; nowMs: number }): void {
  statement(db, `INSERT INTO payer_channels (id, payee, state, open_request, deposit, duration_s, created_at_ms) VALUES (?, ?, 'opening', ?, ?, ?, ?)`)
    .run(channel.id, channel.payee, channel.openRequest, channel.deposit, BigInt(channel.durationSeconds), BigInt(channel.nowMs));
}

export interface CertifiedTerms {
  readonly deposit: Amount;
  readonly expiresAtSeconds: bigint;
  readonly revision: number;
  readonly certificate: Uint8Array;
  readonly certificateSignature: Uint8Array;
  readonly payeeKey: Uint8Array;
}

/** Applies a certificate from open or top-up; an older revision never overwrites a newer one. */
export function applyPayerCertificate(db: StateDb, id: Uint8Array, terms: CertifiedTerms): boolean {
  return changedAtMostOne(statement(db, `UPDATE payer_channels SET state = CASE state WHEN 'opening' THEN 'open' ELSE state END, deposit = ?, expires_at_s = ?, revision = ?,
      certificate = ?, certificate_signature = ?, payee_key = ? WHERE id = ? AND revision < ?`)
    .run(terms.deposit, terms.expiresAtSeconds, BigInt(terms.revision), terms.certificate, terms.certificateSignature, terms.payeeKey, id, BigInt(terms.revision)), 'a payer certificate');
}

export function setPayerChannelState(db: StateDb, id: Uint8Array, state: PayerChannelState, error: string | null = null): void {
  changedOne(statement(db, 'UPDATE payer_channels SET state = ?, error = COALESCE(?, error) WHERE id = ?').run(state, error, id), 'a payer channel state');
}

export function recordSigned(db: StateDb, id: Uint8Array, seq: bigint, total: Amount): void {
  changedOne(statement(db, 'UPDATE payer_channels SET signed_seq = ?, signed_total = ? WHERE id = ?').run(seq, total, id), 'a signed voucher on its channel');
}

/** Reserves seqs up to `reservedSeq`; its commit must be durable before any of them is published. */
export function reserveSeqs(db: StateDb, id: Uint8Array, reservedSeq: bigint): void {
  changedOne(statement(db, 'UPDATE payer_channels SET reserved_seq = ? WHERE id = ? AND reserved_seq < ?').run(reservedSeq, id, reservedSeq), 'a seq reservation');
}

/**
 * At start: a channel whose signed seq is behind its reservation may have lost, with a commit
 * that was not synced, vouchers it published. Its next voucher takes the seq after the block
 * (never one of those seqs again) and waits until the service's accepted total is adopted.
 */
export function skipUnsyncedSeqs(db: StateDb): number {
  return statement(db, "UPDATE payer_channels SET signed_seq = reserved_seq, synced = 0 WHERE signed_seq < reserved_seq").run().changes;
}

export function unsyncedPayerChannels(db: StateDb): PayerChannel[] {
  return (statement(db, `SELECT ${COLUMNS} FROM payer_channels WHERE synced = 0 ORDER BY created_at_ms`).all() as RawPayerChannel[]).map(toPayerChannel);
}

/**
 * Adopts the service's view of an unsynced channel: a total above the local one was signed by
 * this device before a crash and lost locally, so the next voucher must count on from it.
 * Returns how much the local total grew (spending the policy did not see).
 */
export function adoptServiceView(db: StateDb, id: Uint8Array, seq: bigint, total: Amount): Amount {
  const channel = getPayerChannel(db, id);
  if (channel === null || channel.synced) return 0n as Amount;
  if (seq > channel.signedSeq) throw new Error(`assertion failed: the service holds seq ${seq} above the reserved ${channel.signedSeq}`);
  const grown = total > channel.signedTotal ? total - channel.signedTotal : 0n;
  changedOne(statement(db, 'UPDATE payer_channels SET signed_total = max(signed_total, ?), synced = 1 WHERE id = ?').run(total, id), 'an adopted service view');
  recordAccepted(db, id, seq, total);
  return grown as Amount;
}

export function recordAccepted(db: StateDb, id: Uint8Array, seq: bigint, total: Amount): boolean {
  return changedAtMostOne(statement(db, 'UPDATE payer_channels SET accepted_seq = ?, accepted_total = ? WHERE id = ? AND accepted_seq < ?').run(seq, total, id, seq), 'an accepted seq');
}

export function recordReceiptIn(db: StateDb, id: Uint8Array, seq: bigint, total: Amount, signature: Uint8Array): boolean {
  return changedAtMostOne(statement(db, 'UPDATE payer_channels SET receipt_seq = ?, receipt_total = ?, receipt_signature = ? WHERE id = ? AND receipt_seq < ?').run(seq, total, signature, id, seq), 'a receipt seq');
}

export function recordPayerSettled(db: StateDb, id: Uint8Array, settledTotal: Amount): boolean {
  return changedAtMostOne(statement(db, 'UPDATE payer_channels SET settled_total = ? WHERE id = ? AND settled_total < ?').run(settledTotal, id, settledTotal), 'a payer settled total');
}

/** Remembers a top-up before it is requested, so a retry after a crash reuses its request id. */
export function setTopupIntent(db: StateDb, id: Uint8Array, request: string | null, amount: Amount | null): void {
  changedOne(statement(db, 'UPDATE payer_channels SET topup_request = ?, topup_amount = ? WHERE id = ?').run(request, amount, id), 'a top-up intent on its channel');
}

/** A channel to `payee` whose open was sent (or about to be) but not answered yet. */
export function openingPayerChannel(db: StateDb, payee: string): PayerChannel | null {
  const row = statement(db, `SELECT ${COLUMNS} FROM payer_channels WHERE payee = ? AND state = 'opening' ORDER BY created_at_ms DESC LIMIT 1`).get(payee) as RawPayerChannel | undefined;
  return row === undefined ? null : toPayerChannel(row);
}
