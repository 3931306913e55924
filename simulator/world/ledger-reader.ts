// Read-only queries on the broker's ledger while the broker runs in its own process (SQLite
// WAL lets a reader in beside the writer). The simulator uses them to prove an attack moved
// nothing and to show what has been settled so far. A broker killed mid-write is fine: the
// reader sees the last committed state.
import { openDatabase, type Db } from '../../broker/store/sqlite/open-database.js';
import { statement } from '../../sqlite/statement.js';
import type { Amount } from '../../shared/amount.js';

export interface ChannelFacts {
  readonly payer: string;
  readonly payee: string;
  readonly deposit: Amount;
  readonly state: 'open' | 'closed';
  readonly latestSeq: bigint;
  readonly latestTotal: Amount;
}

/** The facts an attack must not change, as one comparable string. */
export const factsKey = (facts: ChannelFacts | null): string =>
  facts === null ? 'none' : `${facts.payer}>${facts.payee} ${facts.state} deposit ${facts.deposit} seq ${facts.latestSeq} total ${facts.latestTotal}`;

export class LedgerReader {
  private db: Db | null = null;

  constructor(private readonly dataDir: string) {}

  private open(): Db {
    this.db ??= openDatabase(this.dataDir, { readonly: true });
    return this.db;
  }

  channel(id: Uint8Array): ChannelFacts | null {
    const row = statement(this.open(), 'SELECT payer, payee, deposit, state, latest_seq, latest_total FROM channels WHERE id = ?').get(id) as
      { payer: string; payee: string; deposit: bigint; state: 'open' | 'closed'; latest_seq: bigint; latest_total: bigint } | undefined;
    if (row === undefined) return null;
    return { payer: row.payer, payee: row.payee, deposit: row.deposit as Amount, state: row.state, latestSeq: row.latest_seq, latestTotal: row.latest_total as Amount };
  }

  hasVoucher(channel: Uint8Array, seq: bigint): boolean {
    return statement(this.open(), 'SELECT 1 FROM vouchers v JOIN channels c ON c.num = v.channel WHERE c.id = ? AND v.seq = ?').get(channel, seq) !== undefined;
  }

  hasDoubleSignEvidence(channel: Uint8Array, seq: bigint, conflictingTotal: Amount): boolean {
    return statement(this.open(), 'SELECT 1 FROM double_signs WHERE channel = ? AND seq = ? AND conflicting_total = ?').get(channel, seq, conflictingTotal) !== undefined;
  }

  settlements(): { count: number; amount: Amount } {
    const row = statement(this.open(), 'SELECT count(*) AS n, COALESCE(SUM(amount), 0) AS amount FROM settlements').get() as { n: bigint; amount: bigint };
    return { count: Number(row.n), amount: row.amount as Amount };
  }

  close(): void {
    this.db?.close();
    this.db = null;
  }
}
