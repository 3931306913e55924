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
import { statement } from '../../../sqlite/statement.js';
import { VOUCHERS_KEPT_PER_CHANNEL } from '../../limits.js';
import type { AcceptedVoucher } from '../port.js';
import { insertVoucher, setLatestVoucher } from './channels.js';

/** Logs an accepted voucher, moves its channel's latest forward and compacts its log, in the caller's transaction. */
export function appendVoucher(db: Db, voucher: AcceptedVoucher, keptPerChannel = VOUCHERS_KEPT_PER_CHANNEL): void {
  insertVoucher(db, voucher.channel, voucher.seq, voucher.total, voucher.signature, voucher.nowMs);
  setLatestVoucher(db, voucher.channel, voucher.seq, voucher.total, voucher.voucher, voucher.signature, voucher.redeeming);
  compactVoucherLog(db, voucher.channel, keptPerChannel);
}

/** Deletes the channel's vouchers below its newest `keptPerChannel`, in the caller's transaction. */
export function compactVoucherLog(db: Db, channel: bigint, keptPerChannel: number): void {
  // One seek for the oldest kept seq and a range delete below it: earlier calls already deleted
  // everything older, so the range holds at most the one voucher this insert pushed out.
  statement(db, `DELETE FROM vouchers WHERE channel = @channel AND seq < (
      SELECT seq FROM vouchers WHERE channel = @channel ORDER BY seq DESC LIMIT 1 OFFSET @offset)`)
    .run({ channel, offset: BigInt(keptPerChannel - 1) });
}
