// One settlement in PostgreSQL, set-based as in broker/store/sqlite/settle.ts: per channel whose
// latest total is above what was settled, the difference moves from its escrow to the payee's
// wallet less the fee, in INSERT ... SELECT statements over the partial index
// `channels_unsettled`, so no JavaScript runs per channel.
//
// It runs in a SERIALIZABLE unit of work. An epoch (no `only`) first locks `channels` against
// writers (EXCLUSIVE: reads go on), in `nextEpoch`, which is the epoch's first statement, so its
// snapshot is taken after every voucher batch in flight has committed and none can commit under
// it: without the lock a busy cluster would abort every epoch on a channel a worker moved
// meanwhile (40001) and settlement would starve. That is what SQLite's single writer gave.
import { amountOf, type Amount } from '../../../shared/amount.js';
import { assert, MqpayError } from '../../../shared/errors.js';
import { FEE_PPM_MAX } from '../../limits.js';
import { FEES_ACCOUNT_KEY } from '../accounts.js';
import type { ChannelSettlement, SettleInput, SettlementOutcome } from '../port.js';
import { bytes, changesOf, rowOf, rowsOf, type Queryable } from './pool.js';

// floor(delta * ppm / 10^6) without overflowing int8: delta = q * 10^6 + r (integer division).
const DELTA = '(latest_total - settled_total)';
const FEE = `((${DELTA} / 1000000) * $3::bigint + ((${DELTA} % 1000000) * $3::bigint) / 1000000)`;
const CHANGED = 'latest_total > settled_total AND ($4::bigint IS NULL OR num = $4::bigint)';

const SQL_FEE = `INSERT INTO transfers (id, from_account, to_account, amount, kind, channel, settlement, created_at_ms)
  SELECT 'fee:' || $1::text || ':' || num, escrow_account, $5::bigint, ${FEE}, 'fee', num, $1::text, $2::bigint
  FROM channels WHERE ${CHANGED} AND ${FEE} > 0`;
const SQL_SETTLE = `INSERT INTO transfers (id, from_account, to_account, amount, kind, channel, settlement, created_at_ms)
  SELECT 'settle:' || $1::text || ':' || num, escrow_account, payee_wallet, ${DELTA} - ${FEE}, 'settle', num, $1::text, $2::bigint
  FROM channels WHERE ${CHANGED}`;
const SQL_MARK = `UPDATE channels SET settled_total = latest_total WHERE ${CHANGED.replaceAll('$4', '$1')}`;
// The exact voucher (or chain) each channel was settled on [docs/DESIGN.md rule 11].
const SQL_EVIDENCE = `INSERT INTO settlement_vouchers (settlement, channel, seq, total, voucher, signature, revision)
  SELECT $1, c.num, c.latest_seq, c.latest_total, c.latest_voucher, c.latest_signature, c.latest_revision
  FROM transfers t JOIN channels c ON c.num = t.channel
  WHERE t.settlement = $1 AND t.kind = 'settle' AND c.latest_voucher IS NOT NULL AND c.latest_signature IS NOT NULL AND c.latest_revision IS NOT NULL`;
const SQL_EVIDENCE_TICKS = `INSERT INTO settlement_ticks (settlement, channel, seq, total, checkpoint, signature, tick_index, preimage, revision)
  SELECT $1, c.num, h.seq, c.latest_total, h.checkpoint, h.signature, h.highest_index, h.highest_link, h.revision
  FROM transfers t JOIN channels c ON c.num = t.channel JOIN chains h ON h.channel = c.num AND h.seq = c.latest_seq
  WHERE t.settlement = $1 AND t.kind = 'settle' AND c.latest_voucher IS NULL`;

/** Holds voucher writers off the channels until this transaction ends (idempotent within it). */
export async function lockChannelsForEpoch(q: Queryable): Promise<void> {
  await q.query('LOCK TABLE channels IN EXCLUSIVE MODE');
}

export async function settle(q: Queryable, input: SettleInput): Promise<SettlementOutcome> {
  if (!Number.isInteger(input.feePpm) || input.feePpm < 0 || input.feePpm > FEE_PPM_MAX) throw new MqpayError('MESSAGE_INVALID', 'fee ppm out of range');
  if (input.only === undefined) await lockChannelsForEpoch(q);
  if ((await rowOf(q, 'SELECT 1 FROM settlements WHERE id = $1', [input.id])) !== null) return { kind: 'already' };
  const only = input.only ?? null;
  if (input.feePpm > 0) await q.query(SQL_FEE, [input.id, input.nowMs, input.feePpm, only, FEES_ACCOUNT_KEY]);
  const settled = await changesOf(q, SQL_SETTLE, [input.id, input.nowMs, input.feePpm, only]);
  if (settled === 0) return { kind: 'nothing' };
  const marked = await changesOf(q, SQL_MARK, [only]);
  assert(marked === settled, 'every settled channel is marked settled, and no other');
  const totals = await rowOf<{ amount: bigint; fee: bigint }>(q,
    "SELECT COALESCE(SUM(amount), 0) AS amount, COALESCE(SUM(CASE kind WHEN 'fee' THEN amount ELSE 0 END), 0) AS fee FROM transfers WHERE settlement = $1", [input.id]);
  assert(totals !== null, 'a settlement has totals');
  await q.query('INSERT INTO settlements (id, reason, channels, amount, fee, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)', [input.id, input.reason, settled, totals.amount, totals.fee, input.nowMs]);
  await q.query(SQL_EVIDENCE, [input.id]);
  await q.query(SQL_EVIDENCE_TICKS, [input.id]);
  await q.query('INSERT INTO settlement_lines (settlement, account, amount) SELECT settlement, to_account, SUM(amount) FROM transfers WHERE settlement = $1 GROUP BY settlement, to_account', [input.id]);
  const lines = await rowsOf<{ account: string; amount: bigint }>(q,
    'SELECT a.name AS account, l.amount FROM settlement_lines l JOIN accounts a ON a.id = l.account WHERE l.settlement = $1 ORDER BY a.name', [input.id]);
  return {
    kind: 'settled',
    result: {
      id: input.id, reason: input.reason, createdAtMs: input.nowMs, channelCount: settled, amount: amountOf(totals.amount), fee: amountOf(totals.fee),
      lines: new Map(lines.map((line) => [line.account, line.amount as Amount])), only: input.only ?? null,
    },
  };
}

/** The next epoch number, from the `epochs` counter row; the epoch's first statement (see the header). */
export async function nextEpoch(q: Queryable): Promise<bigint> {
  await lockChannelsForEpoch(q);
  const row = await rowOf<{ last: bigint }>(q, 'UPDATE epochs SET last = last + 1 RETURNING last');
  assert(row !== null, 'the epoch counter row exists');
  return row.last;
}

export async function settlementChannels(q: Queryable, id: string, after: bigint, limit: number): Promise<{ channels: ChannelSettlement[]; next: bigint | null }> {
  const rows = await rowsOf<{ num: bigint; id: Buffer; payer: string; payee: string; settled_total: bigint; amount: bigint; fee: bigint }>(q,
    `SELECT t.channel AS num, c.id, c.payer, c.payee, c.settled_total,
       SUM(t.amount) AS amount, SUM(CASE t.kind WHEN 'fee' THEN t.amount ELSE 0 END) AS fee
     FROM transfers t JOIN channels c ON c.num = t.channel
     WHERE t.settlement = $1 AND t.channel > $2 GROUP BY t.channel, c.id, c.payer, c.payee, c.settled_total ORDER BY t.channel LIMIT $3`, [id, after, limit]);
  const channels = rows.map((row) => ({ channel: bytes(row.id), payer: row.payer, payee: row.payee, amount: row.amount as Amount, fee: row.fee as Amount, settledTotal: row.settled_total as Amount }));
  return { channels, next: rows.length < limit ? null : (rows[rows.length - 1]?.num ?? null) };
}
