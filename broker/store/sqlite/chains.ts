// Hash-chain ticks in the store (protocol v3, migration 7). A checkpoint moves the channel's
// latest forward like a voucher (same seq space, same conditions) and becomes its current chain;
// a tick raises the chain's highest index and the channel's latest total together, each a
// conditional UPDATE whose change count is checked [docs/DESIGN.md rule 5].
import { assert, MqpayError } from '../../../shared/errors.js';
import { statement } from '../../../sqlite/statement.js';
import type { AcceptedCheckpoint, AcceptedTick, StoredChain } from '../port.js';
import { insertVoucher, setLatestVoucher } from './channels.js';
import type { Db } from './open-database.js';

export function acceptCheckpoint(db: Db, input: AcceptedCheckpoint): void {
  insertVoucher(db, input.channel, input.seq, input.total, input.signature, input.nowMs);
  // No voucher bytes: the channel's latest is the chain, whose evidence is in `chains`.
  setLatestVoucher(db, input.channel, input.seq, input.total, null, input.signature, input.redeeming === true);
  const changed = statement(db, `INSERT INTO chains (channel, seq, checkpoint, signature, revision, chain_length, price, start_total, highest_index, highest_link)
    SELECT num, @seq, @checkpoint, @signature, revision, @length, @price, @total, 0, @root FROM channels WHERE num = @channel
    ON CONFLICT (channel) DO UPDATE SET seq = excluded.seq, checkpoint = excluded.checkpoint, signature = excluded.signature, revision = excluded.revision,
      chain_length = excluded.chain_length, price = excluded.price, start_total = excluded.start_total, highest_index = 0, highest_link = excluded.highest_link
    WHERE excluded.seq > chains.seq`).run({
    channel: input.channel, seq: input.seq, checkpoint: input.checkpoint, signature: input.signature, length: BigInt(input.chainLength), price: input.pricePerTick, total: input.total, root: input.root,
  }).changes;
  assert(changed === 1, 'a checkpoint that moved its channel forward becomes its chain');
}

/** Raises the chain's highest link and the channel's latest total; refuses what a racing write made stale. */
export function acceptTick(db: Db, tick: AcceptedTick): void {
  const chain = statement(db, 'UPDATE chains SET highest_index = ?, highest_link = ? WHERE channel = ? AND seq = ? AND highest_index < ?')
    .run(BigInt(tick.index), tick.link, tick.channel, tick.seq, BigInt(tick.index)).changes;
  if (chain !== 1) throw new MqpayError('TICK_CHECKPOINT_UNKNOWN', 'the chain moved on before this tick was written');
  // A payee's redemption counts while the channel is closing (the dispute window is for it).
  const channel = statement(db, "UPDATE channels SET latest_total = ? WHERE num = ? AND latest_seq = ? AND latest_total < ? AND state = 'open' AND (? OR closing_deadline_ms IS NULL)")
    .run(tick.total, tick.channel, tick.seq, tick.total, tick.redeeming === true ? 1n : 0n).changes;
  if (channel === 1) return;
  const row = statement(db, 'SELECT state, closing_deadline_ms FROM channels WHERE num = ?').get(tick.channel) as { state: string; closing_deadline_ms: bigint | null } | undefined;
  if (row?.state === 'closed') throw new MqpayError('CHANNEL_CLOSED');
  if (row !== undefined && row.closing_deadline_ms !== null) throw new MqpayError('CHANNEL_CLOSING');
  throw new MqpayError('TICK_CHECKPOINT_UNKNOWN', 'a voucher superseded the chain before this tick was written');
}

interface ChainRow { checkpoint: Buffer; signature: Buffer; highest_index: bigint; highest_link: Buffer }

const storedChain = (row: ChainRow): StoredChain => ({
  checkpoint: new Uint8Array(row.checkpoint), signature: new Uint8Array(row.signature), highestIndex: Number(row.highest_index), highestLink: new Uint8Array(row.highest_link),
});

/** The channel's current chain, or null when it has none or a later voucher superseded it. */
export function chainOf(db: Db, channelId: Uint8Array): StoredChain | null {
  const row = statement(db, `SELECT h.checkpoint, h.signature, h.highest_index, h.highest_link FROM chains h JOIN channels c ON c.num = h.channel
    WHERE c.id = ? AND c.latest_seq = h.seq`).get(channelId) as ChainRow | undefined;
  return row === undefined ? null : storedChain(row);
}

/** The current chains of a payee's open (or closing) channels, at most `limit` (channels_by_payee). */
export function currentChainsOfPayee(db: Db, payee: string, limit: number): StoredChain[] {
  const rows = statement(db, `SELECT h.checkpoint, h.signature, h.highest_index, h.highest_link FROM channels c JOIN chains h ON h.channel = c.num
    WHERE c.payee = ? AND c.state = 'open' AND c.latest_seq = h.seq ORDER BY c.num LIMIT ?`).all(payee, BigInt(limit)) as ChainRow[];
  return rows.map(storedChain);
}
