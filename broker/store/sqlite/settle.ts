// One settlement: a single BEGIN IMMEDIATE transaction, idempotent by its id. For each channel
// whose latest total is above what was settled, it moves the difference from the channel's
// escrow to the payee's wallet (less an optional fee to the operator) and records one
// settlement row with a line per credited account.
//
// The work is set-based SQL over the partial index `channels_unsettled`, so it reads only the
// channels that changed and costs no JavaScript per channel: an epoch over 100k changed channels
// commits well inside a second. Per-channel details (for notices) are read back after commit.
import { amountOf, type Amount } from '../../../shared/amount.js';
import { assert, MqpayError } from '../../../shared/errors.js';
import { FEES_ACCOUNT_KEY } from '../accounts.js';
import type { Db } from './open-database.js';
import { statement } from '../../../sqlite/statement.js';
import type { ChannelSettlement, SettlementOutcome, SettlementReason } from '../port.js';
import { FEE_PPM_MAX } from '../../limits.js';

// floor(delta * ppm / 10^6) without overflowing i64 (delta may approach 2^63):
// delta = q * 10^6 + r, so the fee is q * ppm + floor(r * ppm / 10^6). Integers only.
const DELTA = '(latest_total - settled_total)';
const FEE = `((${DELTA} / 1000000) * @ppm + ((${DELTA} % 1000000) * @ppm) / 1000000)`;
const CHANGED = 'latest_total > settled_total AND (@only IS NULL OR num = @only)';

const SQL_SETTLE = `INSERT INTO transfers (id, from_account, to_account, amount, kind, channel, settlement, created_at_ms)
  SELECT 'settle:' || @id || ':' || num, escrow_account, payee_wallet, ${DELTA} - ${FEE}, 'settle', num, @id, @now
  FROM channels WHERE ${CHANGED}`;
const SQL_FEE = `INSERT INTO transfers (id, from_account, to_account, amount, kind, channel, settlement, created_at_ms)
  SELECT 'fee:' || @id || ':' || num, escrow_account, @fees, ${FEE}, 'fee', num, @id, @now
  FROM channels WHERE ${CHANGED} AND ${FEE} > 0`;
// The exact voucher each settlement used, per channel [docs/DESIGN.md rule 11]. Channels whose
// latest was accepted before schema 3 have no bytes and no evidence row.
// Runs once the settlement row exists (the evidence references it): the settled channels are
// those with a 'settle' transfer of this settlement, and their latest is what was settled.
const SQL_EVIDENCE = `INSERT INTO settlement_vouchers (settlement, channel, seq, total, voucher, signature, revision)
  SELECT @id, c.num, c.latest_seq, c.latest_total, c.latest_voucher, c.latest_signature, c.latest_revision
  FROM transfers t JOIN channels c ON c.num = t.channel
  WHERE t.settlement = @id AND t.kind = 'settle' AND c.latest_voucher IS NOT NULL AND c.latest_signature IS NOT NULL AND c.latest_revision IS NOT NULL`;
// A channel whose latest is a hash chain (v3) keeps its checkpoint and highest preimage instead:
// the settled total is checkpoint total + index x price, provable from those alone.
const SQL_EVIDENCE_TICKS = `INSERT INTO settlement_ticks (settlement, channel, seq, total, checkpoint, signature, tick_index, preimage, revision)
  SELECT @id, c.num, h.seq, c.latest_total, h.checkpoint, h.signature, h.highest_index, h.highest_link, h.revision
  FROM transfers t JOIN channels c ON c.num = t.channel JOIN chains h ON h.channel = c.num AND h.seq = c.latest_seq
  WHERE t.settlement = @id AND t.kind = 'settle' AND c.latest_voucher IS NULL`;
const SQL_MARK = `UPDATE channels SET settled_total = latest_total WHERE ${CHANGED}`;

/**
 * Settles inside the caller's transaction. `only` restricts it to one channel (close, expiry).
 * The two ways of moving nothing are told apart: 'already' (the id was used: a retry after a
 * crash) and 'nothing' (no channel had anything unsettled).
 */
export function settleInTransaction(db: Db, input: { id: string; reason: SettlementReason; nowMs: number; feePpm: number; only?: bigint | undefined }): SettlementOutcome {
  if (!Number.isInteger(input.feePpm) || input.feePpm < 0 || input.feePpm > FEE_PPM_MAX) throw new MqpayError('MESSAGE_INVALID', 'fee ppm out of range');
  if (statement(db, 'SELECT 1 FROM settlements WHERE id = ?').get(input.id) !== undefined) return { kind: 'already' };
  const params = { id: input.id, now: BigInt(input.nowMs), ppm: BigInt(input.feePpm), only: input.only ?? null };
  if (input.feePpm > 0) statement(db, SQL_FEE).run({ ...params, fees: FEES_ACCOUNT_KEY });
  const settled = statement(db, SQL_SETTLE).run(params).changes;
  if (settled === 0) return { kind: 'nothing' };
  const marked = statement(db, SQL_MARK).run({ only: params.only }).changes;
  assert(marked === settled, 'every settled channel is marked settled, and no other');
  const totals = statement(db, "SELECT COALESCE(SUM(amount), 0) AS amount, COALESCE(SUM(CASE kind WHEN 'fee' THEN amount ELSE 0 END), 0) AS fee FROM transfers WHERE settlement = ?").get(input.id) as { amount: bigint; fee: bigint };
  statement(db, 'INSERT INTO settlements (id, reason, channels, amount, fee, created_at_ms) VALUES (?, ?, ?, ?, ?, ?)').run(input.id, input.reason, BigInt(settled), totals.amount, totals.fee, params.now);
  statement(db, SQL_EVIDENCE).run({ id: input.id });
  statement(db, SQL_EVIDENCE_TICKS).run({ id: input.id });
  statement(db, 'INSERT INTO settlement_lines (settlement, account, amount) SELECT settlement, to_account, SUM(amount) FROM transfers WHERE settlement = ? GROUP BY to_account').run(input.id);
  const lines = new Map(settlementLines(db, input.id).map((line) => [line.account, line.amount]));
  return { kind: 'settled', result: { id: input.id, reason: input.reason, createdAtMs: input.nowMs, channelCount: settled, amount: amountOf(totals.amount), fee: amountOf(totals.fee), lines, only: input.only ?? null } };
}

/**
 * The next epoch number. Epochs are counted in the database, not derived from the wall clock:
 * a clock stepping back into slots already used would otherwise find every id taken and stall
 * epoch settlement for as long as the step. Runs inside the epoch's own transaction, so a crash
 * before commit reuses the number and a crash after commit never does.
 */
export function nextEpoch(db: Db): bigint {
  const row = statement(db, "SELECT value FROM meta WHERE key = 'epoch_last'").get() as { value: string } | undefined;
  const next = (row === undefined ? 0n : BigInt(row.value)) + 1n;
  const changed = statement(db, "INSERT INTO meta (key, value) VALUES ('epoch_last', @value) ON CONFLICT (key) DO UPDATE SET value = @value").run({ value: next.toString() }).changes;
  assert(changed === 1, 'epoch counter written');
  return next;
}

/**
 * What each channel got in a settlement, read back from its transfers (for notices), one page
 * at a time in channel order: pass the last page's `next` to continue; null when done.
 */
export function settlementChannels(db: Db, id: string, after: bigint, limit: number): { channels: ChannelSettlement[]; next: bigint | null } {
  const rows = statement(
    db,
    `SELECT t.channel AS num, c.id, c.payer, c.payee, c.settled_total,
       SUM(t.amount) AS amount, SUM(CASE t.kind WHEN 'fee' THEN t.amount ELSE 0 END) AS fee
     FROM transfers t JOIN channels c ON c.num = t.channel
     WHERE t.settlement = ? AND t.channel > ? GROUP BY t.channel ORDER BY t.channel LIMIT ?`,
  ).all(id, after, BigInt(limit)) as { num: bigint; id: Buffer; payer: string; payee: string; settled_total: bigint; amount: bigint; fee: bigint }[];
  const channels = rows.map((row) => ({ channel: new Uint8Array(row.id), payer: row.payer, payee: row.payee, amount: row.amount as Amount, fee: row.fee as Amount, settledTotal: row.settled_total as Amount }));
  return { channels, next: rows.length < limit ? null : (rows[rows.length - 1]?.num ?? null) };
}

export interface SettlementRow {
  readonly id: string;
  readonly reason: SettlementReason;
  readonly channels: number;
  readonly amount: Amount;
  readonly fee: Amount;
  readonly createdAtMs: number;
}

export function listSettlements(db: Db, limit: number, offset = 0): SettlementRow[] {
  const rows = statement(db, 'SELECT id, reason, channels, amount, fee, created_at_ms FROM settlements ORDER BY created_at_ms DESC, rowid DESC LIMIT ? OFFSET ?').all(BigInt(limit), BigInt(offset)) as { id: string; reason: SettlementReason; channels: bigint; amount: bigint; fee: bigint; created_at_ms: bigint }[];
  return rows.map((row) => ({ id: row.id, reason: row.reason, channels: Number(row.channels), amount: row.amount as Amount, fee: row.fee as Amount, createdAtMs: Number(row.created_at_ms) }));
}

export function settlementLines(db: Db, id: string): { account: string; amount: Amount }[] {
  return (statement(db, 'SELECT a.name AS account, l.amount FROM settlement_lines l JOIN accounts a ON a.id = l.account WHERE l.settlement = ? ORDER BY a.name').all(id) as { account: string; amount: bigint }[]).map((row) => ({ account: row.account, amount: row.amount as Amount }));
}
