// The one query shape of a channel row with its current certificate and its double-sign count,
// the same SQL in both store adapters (sqlite/channels.ts, postgres/channels.ts); each appends its
// own WHERE with its own parameter style and maps the row to ChannelRow.
import type { CloseRequester } from './port.js';

/** The row as a driver returns it: 64-bit integers as bigint; `Small` is how 32-bit ones come (SQLite: bigint, PostgreSQL: number). */
export interface RawChannel<Small extends number | bigint> {
  num: bigint; id: Buffer; payer: string; payee: string; escrow_account: bigint; deposit: bigint; expires_at_s: bigint;
  state: 'open' | 'closed'; revision: Small; certificate: Buffer; signature: Buffer; latest_seq: bigint; latest_total: bigint;
  latest_signature: Buffer | null; settled_total: bigint; opened_at_ms: bigint; closed_at_ms: bigint | null;
  closing_deadline_ms: bigint | null; closing_started_ms: bigint | null; close_requested_by: CloseRequester | null;
  latest_voucher: Buffer | null; latest_revision: Small | null; double_signs: bigint;
}

export const SELECT_CHANNEL = `SELECT c.num, c.id, c.payer, c.payee, c.escrow_account, c.deposit, c.expires_at_s, c.state, c.revision,
  k.certificate, k.signature, c.latest_seq, c.latest_total, c.latest_signature, c.settled_total, c.opened_at_ms, c.closed_at_ms,
  c.closing_deadline_ms, c.closing_started_ms, c.close_requested_by, c.latest_voucher, c.latest_revision,
  (SELECT count(*) FROM double_signs d WHERE d.channel = c.id) AS double_signs
  FROM channels c JOIN certificates k ON k.channel = c.num`;
