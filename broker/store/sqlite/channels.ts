// Channels: one payer, one payee, an escrowed deposit, and the latest accepted voucher. Each
// channel has a 32-byte public id (chosen by the payer) and an integer key `num` used inside the
// database, where every settlement joins on it.
import type { Amount } from '../../../shared/amount.js';
import { assert, MqpayError } from '../../../shared/errors.js';
import type { Db } from './open-database.js';
import { statement } from '../../../sqlite/statement.js';
import type { ChannelRow, CloseRequester, NewChannel } from '../port.js';
import { DOUBLE_SIGN_EVIDENCE_PER_CHANNEL_MAX } from '../../limits.js';
import { SELECT_CHANNEL, type RawChannel as RawChannelOf } from '../channel-select.js';

type RawChannel = RawChannelOf<bigint>;

function toChannel(row: RawChannel): ChannelRow {
  return {
    num: row.num,
    id: new Uint8Array(row.id),
    payer: row.payer,
    payee: row.payee,
    escrowAccount: row.escrow_account,
    deposit: row.deposit as Amount,
    expiresAtSeconds: row.expires_at_s,
    // A dispute window is an open channel with a deadline [docs/DESIGN.md rule 11].
    state: row.state === 'open' && row.closing_deadline_ms !== null ? 'closing' : row.state,
    revision: Number(row.revision),
    certificate: new Uint8Array(row.certificate),
    certificateSignature: new Uint8Array(row.signature),
    latestSeq: row.latest_seq,
    latestTotal: row.latest_total as Amount,
    latestSignature: row.latest_signature === null ? null : new Uint8Array(row.latest_signature),
    settledTotal: row.settled_total as Amount,
    openedAtMs: Number(row.opened_at_ms),
    closedAtMs: row.closed_at_ms === null ? null : Number(row.closed_at_ms),
    closingDeadlineMs: row.closing_deadline_ms === null ? null : Number(row.closing_deadline_ms),
    closingStartedMs: row.closing_started_ms === null ? null : Number(row.closing_started_ms),
    closeRequestedBy: row.close_requested_by,
    latestVoucher: row.latest_voucher === null ? null : new Uint8Array(row.latest_voucher),
    latestRevision: row.latest_revision === null ? null : Number(row.latest_revision),
    doubleSigns: Number(row.double_signs),
  };
}

export function getChannel(db: Db, id: Uint8Array): ChannelRow | null {
  const row = statement(db, `${SELECT_CHANNEL} WHERE c.id = ?`).get(id) as RawChannel | undefined;
  return row === undefined ? null : toChannel(row);
}

/** Channels where the device is payer or payee, newest first, bounded. */
export function listChannelsOf(db: Db, device: string, limit: number): ChannelRow[] {
  const rows = statement(db, `${SELECT_CHANNEL} WHERE c.payer = @device OR c.payee = @device ORDER BY c.num DESC LIMIT @limit`).all({ device, limit: BigInt(limit) }) as RawChannel[];
  return rows.map(toChannel);
}

/** Open channels where `payer` pays and no dispute window is open yet. */
export function listOpenChannelsOfPayer(db: Db, payer: string, limit: number): ChannelRow[] {
  const rows = statement(db, `${SELECT_CHANNEL} WHERE c.payer = ? AND c.state = 'open' AND c.closing_deadline_ms IS NULL ORDER BY c.num LIMIT ?`).all(payer, BigInt(limit)) as RawChannel[];
  return rows.map(toChannel);
}

/** The device's open channels (a dispute window included), as payer or payee, in key order. */
export function listOpenChannelsOf(db: Db, device: string, limit: number): ChannelRow[] {
  const rows = statement(db, `${SELECT_CHANNEL} WHERE (c.payer = @device OR c.payee = @device) AND c.state = 'open' ORDER BY c.num LIMIT @limit`).all({ device, limit: BigInt(limit) }) as RawChannel[];
  return rows.map(toChannel);
}

export function listChannels(db: Db, limit: number, offset = 0): ChannelRow[] {
  const rows = statement(db, `${SELECT_CHANNEL} ORDER BY c.num DESC LIMIT ? OFFSET ?`).all(BigInt(limit), BigInt(offset)) as RawChannel[];
  return rows.map(toChannel);
}

/** Open channels past their expiry that are not yet in a dispute window. */
export function listExpiredOpenChannels(db: Db, nowSeconds: bigint, limit: number): ChannelRow[] {
  const rows = statement(db, `${SELECT_CHANNEL} WHERE c.state = 'open' AND c.expires_at_s <= ? AND c.closing_deadline_ms IS NULL ORDER BY c.expires_at_s LIMIT ?`).all(nowSeconds, BigInt(limit)) as RawChannel[];
  return rows.map(toChannel);
}

/** Channels whose dispute window has passed: they settle at the next tick [docs/DESIGN.md rule 11]. */
export function listDueClosingChannels(db: Db, nowMs: number, limit: number): ChannelRow[] {
  const rows = statement(db, `${SELECT_CHANNEL} WHERE c.state = 'open' AND c.closing_deadline_ms IS NOT NULL AND c.closing_deadline_ms <= ? ORDER BY c.closing_deadline_ms LIMIT ?`).all(BigInt(nowMs), BigInt(limit)) as RawChannel[];
  return rows.map(toChannel);
}

/** Opens a channel's dispute window; asserted: only an open channel not already closing. */
export function markChannelClosing(db: Db, num: bigint, by: CloseRequester, nowMs: number, deadlineMs: number): void {
  const changed = statement(db, "UPDATE channels SET closing_deadline_ms = ?, closing_started_ms = ?, close_requested_by = ? WHERE num = ? AND state = 'open' AND closing_deadline_ms IS NULL")
    .run(BigInt(deadlineMs), BigInt(nowMs), by, num).changes;
  assert(changed === 1, 'only an open channel that is not closing enters a dispute window');
}

export function countOpenChannelsOfPayer(db: Db, payer: string): number {
  const row = statement(db, "SELECT count(*) AS n FROM channels WHERE payer = ? AND state = 'open'").get(payer) as { n: bigint };
  return Number(row.n);
}

/** Inserts the channel and its first certificate; returns the channel's integer key. */
export function insertChannel(db: Db, channel: NewChannel): bigint {
  const result = statement(
    db,
    `INSERT INTO channels (id, payer, payee, payer_wallet, payee_wallet, escrow_account, deposit, expires_at_s, state, revision, opened_at_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', 1, ?)`,
  ).run(channel.id, channel.payer, channel.payee, channel.payerWallet, channel.payeeWallet, channel.escrowAccount, channel.deposit, channel.expiresAtSeconds, BigInt(channel.nowMs));
  const num = BigInt(result.lastInsertRowid);
  statement(db, 'INSERT INTO certificates (channel, revision, certificate, signature) VALUES (?, 1, ?, ?)').run(num, channel.certificate, channel.certificateSignature);
  return num;
}

export function updateChannelDeposit(db: Db, num: bigint, deposit: Amount, revision: number, certificate: Uint8Array, signature: Uint8Array): void {
  // The revision only goes up: two top-ups racing on one channel cannot both apply.
  const channels = statement(db, "UPDATE channels SET deposit = ?, revision = ? WHERE num = ? AND revision = ? - 1 AND state = 'open'").run(deposit, BigInt(revision), num, BigInt(revision)).changes;
  assert(channels === 1, 'a top-up moves an open channel to its next revision');
  const certificates = statement(db, 'UPDATE certificates SET revision = ?, certificate = ?, signature = ? WHERE channel = ?').run(BigInt(revision), certificate, signature, num).changes;
  assert(certificates === 1, 'a top-up re-issues the channel\'s one certificate');
}

export function markChannelClosed(db: Db, num: bigint, by: CloseRequester, nowMs: number): void {
  // Who asked first is kept (a window opened by the payer and ended by the payee's close stays
  // 'payer'), except an operator's explicit immediate close, which is always what is recorded.
  const changed = statement(db, `UPDATE channels SET state = 'closed', closed_at_ms = @now,
      close_requested_by = CASE WHEN @by = 'operator-immediate' THEN @by ELSE COALESCE(close_requested_by, @by) END
    WHERE num = @num AND state = 'open'`).run({ now: BigInt(nowMs), by, num }).changes;
  assert(changed === 1, 'only an open channel closes');
}

/** Logs an accepted voucher, in the caller's transaction. */
export function insertVoucher(db: Db, channel: bigint, seq: bigint, total: Amount, signature: Uint8Array, nowMs: number): void {
  statement(db, 'INSERT INTO vouchers (channel, seq, total, signature, accepted_at_ms) VALUES (?, ?, ?, ?, ?)').run(channel, seq, total, signature, BigInt(nowMs));
}

/**
 * Re-issues an open channel's certificate with other keys (a rotation): the certificate it
 * replaces is kept in `certificate_history`, since vouchers judged under it are checked with its
 * payer key [docs/DESIGN.md rule 11].
 */
export function reissueCertificate(db: Db, num: bigint, revision: number, certificate: Uint8Array, signature: Uint8Array): void {
  const kept = statement(db, 'INSERT INTO certificate_history (channel, revision, certificate, signature) SELECT channel, revision, certificate, signature FROM certificates WHERE channel = ? AND revision = ? - 1').run(num, BigInt(revision)).changes;
  assert(kept === 1, 'the replaced certificate is kept');
  const channels = statement(db, "UPDATE channels SET revision = ? WHERE num = ? AND revision = ? - 1 AND state = 'open'").run(BigInt(revision), num, BigInt(revision)).changes;
  assert(channels === 1, 'a re-issue moves an open channel to its next revision');
  const certificates = statement(db, 'UPDATE certificates SET revision = ?, certificate = ?, signature = ? WHERE channel = ?').run(BigInt(revision), certificate, signature, num).changes;
  assert(certificates === 1, 'a re-issue replaces the channel\'s one certificate');
}

/**
 * Moves an open channel's latest voucher forward (never back), in the caller's transaction,
 * keeping its full signed bytes and the certificate revision it was judged against
 * [docs/DESIGN.md rule 11]. A payer's voucher judged before a close committed may reach its
 * batch after it: it is refused (CHANNEL_CLOSED, or CHANNEL_CLOSING inside a dispute window),
 * since the escrow was refunded or is about to be. A payee's redemption (`redeeming`) counts
 * inside the window, and may have moved the latest past a payer's voucher still in its batch
 * (VOUCHER_SEQ_NOT_INCREASING). Any other miss is a bug (a stale cache), and it fails its own
 * write rather than be acknowledged.
 */
export function setLatestVoucher(db: Db, channel: bigint, seq: bigint, total: Amount, voucher: Uint8Array | null, signature: Uint8Array, redeeming: boolean): void {
  const changed = statement(db, `UPDATE channels SET latest_seq = ?, latest_total = ?, latest_signature = ?, latest_voucher = ?, latest_revision = revision
    WHERE num = ? AND latest_seq < ? AND state = 'open' AND (? OR closing_deadline_ms IS NULL)`).run(seq, total, signature, voucher, channel, seq, redeeming ? 1n : 0n).changes;
  if (changed === 1) return;
  const row = statement(db, 'SELECT state, closing_deadline_ms, latest_seq FROM channels WHERE num = ?').get(channel) as { state: string; closing_deadline_ms: bigint | null; latest_seq: bigint } | undefined;
  if (row?.state === 'closed') throw new MqpayError('CHANNEL_CLOSED');
  if (row?.closing_deadline_ms !== null && row?.closing_deadline_ms !== undefined && !redeeming) throw new MqpayError('CHANNEL_CLOSING');
  // A payee's redemption committed between this voucher's judgement and its batch: the channel
  // is already past it (the payer's cache entry is reloaded after this failed write).
  if (row !== undefined && row.latest_seq >= seq) throw new MqpayError('VOUCHER_SEQ_NOT_INCREASING', `latest seq is ${row.latest_seq}`);
  assert(false, "an accepted voucher moves its channel's latest forward");
}

export function findVoucher(db: Db, channelId: Uint8Array, seq: bigint): { total: Amount; signature: Uint8Array } | null {
  const row = statement(db, 'SELECT v.total, v.signature FROM vouchers v JOIN channels c ON c.num = v.channel WHERE c.id = ? AND v.seq = ?').get(channelId, seq) as { total: bigint; signature: Buffer } | undefined;
  return row === undefined ? null : { total: row.total as Amount, signature: new Uint8Array(row.signature) };
}

/**
 * Keeps double-sign evidence, at most DOUBLE_SIGN_EVIDENCE_PER_CHANNEL_MAX rows per channel: a
 * device signing conflicting totals endlessly cannot grow the table without bound; the first
 * rows already prove it. Returns whether a row was added.
 */
export function recordDoubleSign(db: Db, evidence: { channel: Uint8Array; seq: bigint; acceptedTotal: Amount; conflictingTotal: Amount; voucher: Uint8Array; signature: Uint8Array; nowMs: number }): boolean {
  const held = statement(db, 'SELECT count(*) AS n FROM double_signs WHERE channel = ?').get(evidence.channel) as { n: bigint };
  if (held.n >= BigInt(DOUBLE_SIGN_EVIDENCE_PER_CHANNEL_MAX)) return false;
  return statement(
    db,
    'INSERT OR IGNORE INTO double_signs (channel, seq, accepted_total, conflicting_total, voucher, signature, detected_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
  ).run(evidence.channel, evidence.seq, evidence.acceptedTotal, evidence.conflictingTotal, evidence.voucher, evidence.signature, BigInt(evidence.nowMs)).changes === 1;
}

export function countDoubleSigns(db: Db, channel: Uint8Array): number {
  return Number((statement(db, 'SELECT count(*) AS n FROM double_signs WHERE channel = ?').get(channel) as { n: bigint }).n);
}

/**
 * A restored channel brought to the terms of a later certificate (its revision may jump: the
 * top-ups between were lost with the ledger). Revisions only go up, as in a top-up.
 */
export function raiseChannelTerms(db: Db, num: bigint, deposit: Amount, revision: number, certificate: Uint8Array, signature: Uint8Array): void {
  const channels = statement(db, "UPDATE channels SET deposit = ?, revision = ? WHERE num = ? AND revision < ? AND deposit <= ? AND state = 'open'").run(deposit, BigInt(revision), num, BigInt(revision), deposit).changes;
  assert(channels === 1, 'restored terms raise an open channel to a later revision');
  const certificates = statement(db, 'UPDATE certificates SET revision = ?, certificate = ?, signature = ? WHERE channel = ?').run(BigInt(revision), certificate, signature, num).changes;
  assert(certificates === 1, 'the channel keeps one certificate');
}
