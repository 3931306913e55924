// Vouchers, hash-chain checkpoints and ticks, and receipts in the PostgreSQL ledger: the rules of
// broker/store/sqlite/voucher-log.ts, chains.ts and retention.ts, each write a conditional
// statement whose row count is checked [docs/DESIGN.md rule 5].
import type { Amount } from '../../../shared/amount.js';
import { assert, MqpayError } from '../../../shared/errors.js';
import type { AcceptedCheckpoint, AcceptedTick, AcceptedVoucher, LatestReceipt, StoredChain, StoredReceipt } from '../port.js';
import { insertVoucher, refuseUnmoved, setLatestVoucher } from './channels.js';
import { bytes, changesOf, rowOf, rowsOf, type Queryable } from './pool.js';

/**
 * Moves the channel's latest forward (the conditional UPDATE of setLatestVoucher), logs the
 * voucher and drops the channel's logged vouchers beyond its newest `keptPerChannel`, in ONE
 * statement (the voucher hot path: one round trip). Only a moved channel logs anything; a miss
 * is then named by setLatestVoucher's rules (CHANNEL_CLOSED, CHANNEL_CLOSING,
 * VOUCHER_SEQ_NOT_INCREASING). The statement's parts see the rows as they were before it, so the
 * new voucher is not among those counted: an older one goes when `keptPerChannel - 1` others are
 * newer than it.
 */
const SQL_APPEND_VOUCHER = `WITH moved AS (
    UPDATE channels SET latest_seq = $2, latest_total = $3, latest_signature = $4, latest_voucher = $5, latest_revision = revision
    WHERE num = $1 AND latest_seq < $2 AND state = 'open' AND ($6 OR closing_deadline_ms IS NULL) RETURNING num),
  logged AS (
    INSERT INTO vouchers (channel, seq, total, signature, accepted_at_ms) SELECT num, $2::bigint, $3::bigint, $4::bytea, $7::bigint FROM moved RETURNING channel),
  dropped AS (
    DELETE FROM vouchers v WHERE v.channel = $1 AND EXISTS (SELECT 1 FROM moved)
      AND (SELECT count(*) FROM vouchers w WHERE w.channel = v.channel AND w.seq > v.seq) >= $8::integer - 1)
  SELECT count(*) AS logged FROM logged`;

export async function appendVoucher(q: Queryable, voucher: AcceptedVoucher, keptPerChannel: number): Promise<void> {
  assert(Number.isInteger(keptPerChannel) && keptPerChannel >= 1, 'a channel keeps at least its latest voucher');
  const row = await rowOf<{ logged: bigint }>(q, SQL_APPEND_VOUCHER,
    [voucher.channel, voucher.seq, voucher.total, voucher.signature, voucher.voucher, voucher.redeeming, voucher.nowMs, keptPerChannel]);
  if (row?.logged === 1n) return;
  await refuseUnmoved(q, voucher.channel, voucher.seq, voucher.redeeming);
}

export async function appendCheckpoint(q: Queryable, input: AcceptedCheckpoint): Promise<void> {
  // The channel moves first: a seq another worker already took is refused by the move (with its
  // reason, refuseUnmoved) before the log insert could fail on its primary key.
  // No voucher bytes: the channel's latest is the chain, whose evidence is in `chains`.
  await setLatestVoucher(q, input.channel, input.seq, input.total, null, input.signature, input.redeeming === true);
  await insertVoucher(q, input.channel, input.seq, input.total, input.signature, input.nowMs);
  const changed = await changesOf(q, `INSERT INTO chains (channel, seq, checkpoint, signature, revision, chain_length, price, start_total, highest_index, highest_link)
    SELECT num, $2::bigint, $3::bytea, $4::bytea, revision, $5::integer, $6::bigint, $7::bigint, 0, $8::bytea FROM channels WHERE num = $1
    ON CONFLICT (channel) DO UPDATE SET seq = excluded.seq, checkpoint = excluded.checkpoint, signature = excluded.signature, revision = excluded.revision,
      chain_length = excluded.chain_length, price = excluded.price, start_total = excluded.start_total, highest_index = 0, highest_link = excluded.highest_link
    WHERE excluded.seq > chains.seq`,
  [input.channel, input.seq, input.checkpoint, input.signature, input.chainLength, input.pricePerTick, input.total, input.root]);
  assert(changed === 1, 'a checkpoint that moved its channel forward becomes its chain');
}

/** Raises the chain's highest link and the channel's latest total; refuses what a racing write made stale. */
export async function appendTick(q: Queryable, tick: AcceptedTick): Promise<void> {
  const chain = await changesOf(q, 'UPDATE chains SET highest_index = $1, highest_link = $2 WHERE channel = $3 AND seq = $4 AND highest_index < $1',
    [tick.index, tick.link, tick.channel, tick.seq]);
  if (chain !== 1) throw new MqpayError('TICK_CHECKPOINT_UNKNOWN', 'the chain moved on before this tick was written');
  // A payee's redemption counts while the channel is closing (the dispute window is for it).
  const channel = await changesOf(q, "UPDATE channels SET latest_total = $1 WHERE num = $2 AND latest_seq = $3 AND latest_total < $1 AND state = 'open' AND ($4 OR closing_deadline_ms IS NULL)",
    [tick.total, tick.channel, tick.seq, tick.redeeming === true]);
  if (channel === 1) return;
  const row = await rowOf<{ state: string; closing_deadline_ms: bigint | null }>(q, 'SELECT state, closing_deadline_ms FROM channels WHERE num = $1', [tick.channel]);
  if (row?.state === 'closed') throw new MqpayError('CHANNEL_CLOSED');
  if (row !== null && row.closing_deadline_ms !== null) throw new MqpayError('CHANNEL_CLOSING');
  throw new MqpayError('TICK_CHECKPOINT_UNKNOWN', 'a voucher superseded the chain before this tick was written');
}

interface ChainRow { checkpoint: Buffer; signature: Buffer; highest_index: number; highest_link: Buffer }

const storedChain = (row: ChainRow): StoredChain => ({ checkpoint: bytes(row.checkpoint), signature: bytes(row.signature), highestIndex: row.highest_index, highestLink: bytes(row.highest_link) });

export async function chainOf(q: Queryable, channelId: Uint8Array): Promise<StoredChain | null> {
  const row = await rowOf<ChainRow>(q,
    'SELECT h.checkpoint, h.signature, h.highest_index, h.highest_link FROM chains h JOIN channels c ON c.num = h.channel WHERE c.id = $1 AND c.latest_seq = h.seq', [channelId]);
  return row === null ? null : storedChain(row);
}

/** The current chains of a payee's open (or closing) channels, at most `limit`. */
export async function currentChainsOfPayee(q: Queryable, payee: string, limit: number): Promise<StoredChain[]> {
  const rows = await rowsOf<ChainRow>(q, `SELECT h.checkpoint, h.signature, h.highest_index, h.highest_link FROM channels c JOIN chains h ON h.channel = c.num
    WHERE c.payee = $1 AND c.state = 'open' AND c.latest_seq = h.seq ORDER BY c.num LIMIT $2`, [payee, limit]);
  return rows.map(storedChain);
}

/** Keeps each channel's latest receipt only; an older one changes nothing. */
export async function storeReceipt(q: Queryable, receipt: StoredReceipt): Promise<void> {
  await q.query(`INSERT INTO receipts (channel, seq, total, signature, received_at_ms) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (channel) DO UPDATE SET seq = excluded.seq, total = excluded.total, signature = excluded.signature, received_at_ms = excluded.received_at_ms
     WHERE excluded.seq > receipts.seq`, [receipt.channel, receipt.seq, receipt.total, receipt.signature, receipt.nowMs]);
}

export async function latestReceiptsOfPayer(q: Queryable, payer: string, limit: number): Promise<LatestReceipt[]> {
  const rows = await rowsOf<{ id: Buffer; payee: string; seq: bigint; total: bigint; signature: Buffer }>(q,
    `SELECT c.id, c.payee, r.seq, r.total, r.signature FROM receipts r JOIN channels c ON c.num = r.channel
     WHERE c.payer = $1 AND c.state = 'open' ORDER BY c.num LIMIT $2`, [payer, limit]);
  return rows.map((row) => ({ channelId: bytes(row.id), payee: row.payee, seq: row.seq, total: row.total as Amount, signature: bytes(row.signature) }));
}

/** Deletes vouchers settlement made redundant, accepted before `acceptedBeforeMs` (the rules of sqlite/retention.ts). */
export function pruneSettledVouchers(q: Queryable, acceptedBeforeMs: number): Promise<number> {
  return changesOf(q, `DELETE FROM vouchers v WHERE v.accepted_at_ms < $1 AND EXISTS (
      SELECT 1 FROM channels c
      WHERE c.num = v.channel AND v.seq < c.latest_seq AND v.total <= c.settled_total AND c.settled_total = c.latest_total
        AND c.state IN ('open', 'closed')
        AND NOT EXISTS (SELECT 1 FROM double_signs d WHERE d.channel = c.id))`, [acceptedBeforeMs]);
}
