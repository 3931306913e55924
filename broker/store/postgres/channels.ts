// Channels in the PostgreSQL ledger (as broker/store/sqlite/channels.ts): one payer, one payee,
// an escrowed deposit and the latest accepted voucher. Every change is a conditional UPDATE whose
// row count is checked: under READ COMMITTED (batches) PostgreSQL re-evaluates the WHERE on the
// newest row version after waiting for its lock, so two writers racing on one channel cannot
// both apply [docs/DESIGN.md rule 5].
import type { Amount } from '../../../shared/amount.js';
import { assert, MqpayError } from '../../../shared/errors.js';
import { DOUBLE_SIGN_EVIDENCE_PER_CHANNEL_MAX } from '../../limits.js';
import type { ChannelRow, CloseRequester, DoubleSignEvidence, NewChannel } from '../port.js';
import { bytes, bytesOrNull, changesOf, rowOf, rowsOf, type Queryable } from './pool.js';
import { SELECT_CHANNEL, type RawChannel as RawChannelOf } from '../channel-select.js';

type RawChannel = RawChannelOf<number>;

const numberOrNull = (value: bigint | null): number | null => (value === null ? null : Number(value));

function toChannel(row: RawChannel): ChannelRow {
  return {
    num: row.num, id: bytes(row.id), payer: row.payer, payee: row.payee, escrowAccount: row.escrow_account,
    deposit: row.deposit as Amount, expiresAtSeconds: row.expires_at_s,
    // A dispute window is an open channel with a deadline [docs/DESIGN.md rule 11].
    state: row.state === 'open' && row.closing_deadline_ms !== null ? 'closing' : row.state,
    revision: row.revision, certificate: bytes(row.certificate), certificateSignature: bytes(row.signature),
    latestSeq: row.latest_seq, latestTotal: row.latest_total as Amount, latestSignature: bytesOrNull(row.latest_signature),
    settledTotal: row.settled_total as Amount, openedAtMs: Number(row.opened_at_ms), closedAtMs: numberOrNull(row.closed_at_ms),
    closingDeadlineMs: numberOrNull(row.closing_deadline_ms), closingStartedMs: numberOrNull(row.closing_started_ms),
    closeRequestedBy: row.close_requested_by, latestVoucher: bytesOrNull(row.latest_voucher), latestRevision: row.latest_revision,
    doubleSigns: Number(row.double_signs),
  };
}

async function channelsWhere(q: Queryable, where: string, values: readonly unknown[]): Promise<ChannelRow[]> {
  return (await rowsOf<RawChannel>(q, `${SELECT_CHANNEL} ${where}`, values)).map(toChannel);
}

export async function getChannel(q: Queryable, id: Uint8Array): Promise<ChannelRow | null> {
  const [row] = await channelsWhere(q, 'WHERE c.id = $1', [id]);
  return row ?? null;
}

/** Channels newest first, a page (the operator's list). */
export const channelsPage = (q: Queryable, limit: number, offset: number): Promise<ChannelRow[]> =>
  channelsWhere(q, 'ORDER BY c.num DESC LIMIT $1 OFFSET $2', [limit, offset]);

export const listChannelsOf = (q: Queryable, device: string, limit: number): Promise<ChannelRow[]> =>
  channelsWhere(q, 'WHERE c.payer = $1 OR c.payee = $1 ORDER BY c.num DESC LIMIT $2', [device, limit]);

export const listOpenChannelsOfPayer = (q: Queryable, payer: string, limit: number): Promise<ChannelRow[]> =>
  channelsWhere(q, "WHERE c.payer = $1 AND c.state = 'open' AND c.closing_deadline_ms IS NULL ORDER BY c.num LIMIT $2", [payer, limit]);

export const listOpenChannelsOf = (q: Queryable, device: string, limit: number): Promise<ChannelRow[]> =>
  channelsWhere(q, "WHERE (c.payer = $1 OR c.payee = $1) AND c.state = 'open' ORDER BY c.num LIMIT $2", [device, limit]);

export const listExpiredOpenChannels = (q: Queryable, nowSeconds: bigint, limit: number): Promise<ChannelRow[]> =>
  channelsWhere(q, "WHERE c.state = 'open' AND c.expires_at_s <= $1 AND c.closing_deadline_ms IS NULL ORDER BY c.expires_at_s LIMIT $2", [nowSeconds, limit]);

export const listDueClosingChannels = (q: Queryable, nowMs: number, limit: number): Promise<ChannelRow[]> =>
  channelsWhere(q, "WHERE c.state = 'open' AND c.closing_deadline_ms IS NOT NULL AND c.closing_deadline_ms <= $1 ORDER BY c.closing_deadline_ms LIMIT $2", [nowMs, limit]);

export async function countOpenChannelsOfPayer(q: Queryable, payer: string): Promise<number> {
  const row = await rowOf<{ n: bigint }>(q, "SELECT count(*) AS n FROM channels WHERE payer = $1 AND state = 'open'", [payer]);
  return Number(row?.n ?? 0n);
}

export async function markChannelClosing(q: Queryable, num: bigint, by: CloseRequester, nowMs: number, deadlineMs: number): Promise<void> {
  const changed = await changesOf(q, "UPDATE channels SET closing_deadline_ms = $1, closing_started_ms = $2, close_requested_by = $3 WHERE num = $4 AND state = 'open' AND closing_deadline_ms IS NULL",
    [deadlineMs, nowMs, by, num]);
  assert(changed === 1, 'only an open channel that is not closing enters a dispute window');
}

export async function insertChannel(q: Queryable, channel: NewChannel): Promise<bigint> {
  const row = await rowOf<{ num: bigint }>(q, `INSERT INTO channels (id, payer, payee, payer_wallet, payee_wallet, escrow_account, deposit, expires_at_s, state, revision, opened_at_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', 1, $9) RETURNING num`,
  [channel.id, channel.payer, channel.payee, channel.payerWallet, channel.payeeWallet, channel.escrowAccount, channel.deposit, channel.expiresAtSeconds, channel.nowMs]);
  assert(row !== null, 'a channel insert returns its key');
  await q.query('INSERT INTO certificates (channel, revision, certificate, signature) VALUES ($1, 1, $2, $3)', [row.num, channel.certificate, channel.certificateSignature]);
  return row.num;
}

async function replaceCertificate(q: Queryable, num: bigint, revision: number, certificate: Uint8Array, signature: Uint8Array): Promise<void> {
  const changed = await changesOf(q, 'UPDATE certificates SET revision = $1, certificate = $2, signature = $3 WHERE channel = $4', [revision, certificate, signature, num]);
  assert(changed === 1, "the channel keeps one certificate");
}

export async function updateChannelDeposit(q: Queryable, num: bigint, deposit: Amount, revision: number, certificate: Uint8Array, signature: Uint8Array): Promise<void> {
  // The revision only goes up: two top-ups racing on one channel cannot both apply.
  const changed = await changesOf(q, "UPDATE channels SET deposit = $1, revision = $2 WHERE num = $3 AND revision = $2 - 1 AND state = 'open'", [deposit, revision, num]);
  assert(changed === 1, 'a top-up moves an open channel to its next revision');
  await replaceCertificate(q, num, revision, certificate, signature);
}

export async function reissueCertificate(q: Queryable, num: bigint, revision: number, certificate: Uint8Array, signature: Uint8Array): Promise<void> {
  const kept = await changesOf(q, 'INSERT INTO certificate_history (channel, revision, certificate, signature) SELECT channel, revision, certificate, signature FROM certificates WHERE channel = $1 AND revision = $2 - 1',
    [num, revision]);
  assert(kept === 1, 'the replaced certificate is kept');
  const changed = await changesOf(q, "UPDATE channels SET revision = $1 WHERE num = $2 AND revision = $1 - 1 AND state = 'open'", [revision, num]);
  assert(changed === 1, 'a re-issue moves an open channel to its next revision');
  await replaceCertificate(q, num, revision, certificate, signature);
}

export async function raiseChannelTerms(q: Queryable, num: bigint, deposit: Amount, revision: number, certificate: Uint8Array, signature: Uint8Array): Promise<void> {
  const changed = await changesOf(q, "UPDATE channels SET deposit = $1, revision = $2 WHERE num = $3 AND revision < $2 AND deposit <= $1 AND state = 'open'", [deposit, revision, num]);
  assert(changed === 1, 'restored terms raise an open channel to a later revision');
  await replaceCertificate(q, num, revision, certificate, signature);
}

export async function markChannelClosed(q: Queryable, num: bigint, by: CloseRequester, nowMs: number): Promise<void> {
  // Who asked first is kept, except an operator's explicit immediate close (as in SQLite).
  const changed = await changesOf(q, `UPDATE channels SET state = 'closed', closed_at_ms = $1,
      close_requested_by = CASE WHEN $2 = 'operator-immediate' THEN $2 ELSE COALESCE(close_requested_by, $2) END
    WHERE num = $3 AND state = 'open'`, [nowMs, by, num]);
  assert(changed === 1, 'only an open channel closes');
}

export async function insertVoucher(q: Queryable, channel: bigint, seq: bigint, total: Amount, signature: Uint8Array, nowMs: number): Promise<void> {
  await q.query('INSERT INTO vouchers (channel, seq, total, signature, accepted_at_ms) VALUES ($1, $2, $3, $4, $5)', [channel, seq, total, signature, nowMs]);
}

/** Moves an open channel's latest forward, never back (the SQLite rules: broker/store/sqlite/channels.ts setLatestVoucher). */
export async function setLatestVoucher(q: Queryable, channel: bigint, seq: bigint, total: Amount, voucher: Uint8Array | null, signature: Uint8Array, redeeming: boolean): Promise<void> {
  const changed = await changesOf(q, `UPDATE channels SET latest_seq = $1, latest_total = $2, latest_signature = $3, latest_voucher = $4, latest_revision = revision
    WHERE num = $5 AND latest_seq < $1 AND state = 'open' AND ($6 OR closing_deadline_ms IS NULL)`, [seq, total, signature, voucher, channel, redeeming]);
  if (changed !== 1) await refuseUnmoved(q, channel, seq, redeeming);
}

/** Why a voucher did not move its channel: what a racing write made of it, or a bug. Always throws. */
export async function refuseUnmoved(q: Queryable, channel: bigint, seq: bigint, redeeming: boolean): Promise<never> {
  const row = await rowOf<{ state: string; closing_deadline_ms: bigint | null; latest_seq: bigint }>(q, 'SELECT state, closing_deadline_ms, latest_seq FROM channels WHERE num = $1', [channel]);
  if (row?.state === 'closed') throw new MqpayError('CHANNEL_CLOSED');
  if (row !== null && row.closing_deadline_ms !== null && !redeeming) throw new MqpayError('CHANNEL_CLOSING');
  if (row !== null && row.latest_seq >= seq) throw new MqpayError('VOUCHER_SEQ_NOT_INCREASING', `latest seq is ${row.latest_seq}`);
  throw new Error("assertion failed: an accepted voucher moves its channel's latest forward");
}

export async function findVoucher(q: Queryable, channelId: Uint8Array, seq: bigint): Promise<{ total: Amount; signature: Uint8Array } | null> {
  const row = await rowOf<{ total: bigint; signature: Buffer }>(q, 'SELECT v.total, v.signature FROM vouchers v JOIN channels c ON c.num = v.channel WHERE c.id = $1 AND v.seq = $2', [channelId, seq]);
  return row === null ? null : { total: row.total as Amount, signature: bytes(row.signature) };
}

/**
 * Keeps double-sign evidence, at most DOUBLE_SIGN_EVIDENCE_PER_CHANNEL_MAX rows per channel, in
 * one statement; the channel's row is locked first, so two writers cannot both add the last one.
 */
export async function recordDoubleSign(q: Queryable, evidence: DoubleSignEvidence): Promise<boolean> {
  await q.query('SELECT 1 FROM channels WHERE id = $1 FOR UPDATE', [evidence.channel]);
  return (await changesOf(q, `INSERT INTO double_signs (channel, seq, accepted_total, conflicting_total, voucher, signature, detected_at_ms)
    SELECT $1::bytea, $2::bigint, $3::bigint, $4::bigint, $5::bytea, $6::bytea, $7::bigint WHERE (SELECT count(*) FROM double_signs WHERE channel = $1) < $8
    ON CONFLICT DO NOTHING`, [evidence.channel, evidence.seq, evidence.acceptedTotal, evidence.conflictingTotal, evidence.voucher, evidence.signature, evidence.nowMs, DOUBLE_SIGN_EVIDENCE_PER_CHANNEL_MAX])) === 1;
}

export async function countDoubleSigns(q: Queryable, channel: Uint8Array): Promise<number> {
  const row = await rowOf<{ n: bigint }>(q, 'SELECT count(*) AS n FROM double_signs WHERE channel = $1', [channel]);
  return Number(row?.n ?? 0n);
}
