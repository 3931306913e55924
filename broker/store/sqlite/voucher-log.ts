// The voucher log follows channels, not vouchers: each channel keeps its newest
// VOUCHERS_KEPT_PER_CHANNEL accepted vouchers and the rest are dropped as each new one is
// logged, so storage grows with channels and a busy channel costs no more than a quiet one.
// Nothing the evidence rules need is here [docs/DESIGN.md rule 11]: the channel row keeps its
// latest voucher's full bytes and signature, each settlement keeps the exact voucher it settled
// (`settlement_vouchers`), double-signs are kept in `double_signs`, and a rotation keeps the
// certificate it replaced (`certificate_history`). The few kept below the latest serve re-sends
// only: a duplicate delivery of a recent voucher is answered as accepted (its stored signature
// matches) and one with another total is caught as a double-sign. A re-send older than the
// window is refused VOUCHER_SEQ_NOT_INCREASING, which moves no money (only the latest counts).
import type { Db } from './open-database.js';
import { assert } from '../../../shared/errors.js';
import { statement } from '../../../sqlite/statement.js';
import { VOUCHERS_KEPT_PER_CHANNEL } from '../../limits.js';
import type { AcceptedVoucher } from '../port.js';
import { insertVoucher, setLatestVoucher } from './channels.js';

/** The channels a group commit running now has logged vouchers on (see `compactingOncePerBatch`). */
const batchChannels = new WeakMap<Db, Set<bigint>>();

/**
 * Logs an accepted voucher, moves its channel's latest forward and compacts its log, in the
 * caller's transaction; inside a group commit the log is compacted once per channel at its end.
 */
export function appendVoucher(db: Db, voucher: AcceptedVoucher, keptPerChannel = VOUCHERS_KEPT_PER_CHANNEL): void {
  insertVoucher(db, voucher.channel, voucher.seq, voucher.total, voucher.signature, voucher.nowMs);
  setLatestVoucher(db, voucher.channel, voucher.seq, voucher.total, voucher.voucher, voucher.signature, voucher.redeeming);
  const inBatch = batchChannels.get(db);
  if (inBatch !== undefined) inBatch.add(voucher.channel);
  else compactVoucherLog(db, voucher.channel, keptPerChannel);
}

/**
 * Runs a group commit's writes (in its open transaction), then compacts the log of each channel
 * they logged vouchers on, once: a batch holds hundreds of vouchers of a few busy channels, and
 * one DELETE per channel replaces one per voucher. The kept window is the same once the batch
 * commits; within it, a re-send may find a few more of its channel's recent vouchers. A voucher
 * whose savepoint rolled back leaves its channel in the set, which only costs one idle DELETE.
 */
export async function compactingOncePerBatch<T>(db: Db, keptPerChannel: number, writes: () => Promise<T>): Promise<T> {
  assert(!batchChannels.has(db), 'group commits never overlap');
  const channels = new Set<bigint>();
  batchChannels.set(db, channels);
  let value: T;
  try {
    value = await writes();
  } finally {
    batchChannels.delete(db);
  }
  for (const channel of channels) compactVoucherLog(db, channel, keptPerChannel);
  return value;
}

/** Deletes the channel's vouchers below its newest `keptPerChannel`, in the caller's transaction. */
export function compactVoucherLog(db: Db, channel: bigint, keptPerChannel: number): void {
  // One seek for the oldest kept seq and a range delete below it: earlier calls already deleted
  // everything older, so the range holds at most the one voucher this insert pushed out.
  statement(db, `DELETE FROM vouchers WHERE channel = @channel AND seq < (
      SELECT seq FROM vouchers WHERE channel = @channel ORDER BY seq DESC LIMIT 1 OFFSET @offset)`)
    .run({ channel, offset: BigInt(keptPerChannel - 1) });
}
