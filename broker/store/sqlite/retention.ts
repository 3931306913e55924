// Voucher retention: accepted vouchers that settlement has made redundant are deleted once they
// are older than the retention period (`--voucher-retention-days`), so the service keeps less of
// who paid whom, when. The log already holds only each channel's newest few
// (voucher-log.ts); of those, kept whatever their age:
//   - a channel's latest voucher (it is the channel's claim; settlement and disputes read it);
//   - every voucher of a channel with anything unsettled (latest total above settled total);
//   - every voucher of a channel in any state but 'open' or 'closed' (a closing or disputed
//     channel needs its history), and of a channel with double-sign evidence;
//   - vouchers above the settled total.
// Transfers, settlements and the double-sign evidence are never pruned: the ledger stays whole.
import type { Db } from './open-database.js';
import { statement } from '../../../sqlite/statement.js';

/** Deletes the prunable vouchers accepted before `acceptedBeforeMs`; returns how many. */
export function pruneSettledVouchers(db: Db, acceptedBeforeMs: number): number {
  return statement(db, `DELETE FROM vouchers WHERE accepted_at_ms < ? AND EXISTS (
      SELECT 1 FROM channels c
      WHERE c.num = vouchers.channel
        AND vouchers.seq < c.latest_seq
        AND vouchers.total <= c.settled_total
        AND c.settled_total = c.latest_total
        AND c.state IN ('open', 'closed')
        AND NOT EXISTS (SELECT 1 FROM double_signs d WHERE d.channel = c.id))`).run(BigInt(acceptedBeforeMs)).changes;
}
