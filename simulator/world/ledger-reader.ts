// Read-only queries on the ledger while the service runs in other processes (SQLite WAL lets a
// reader in beside the broker; the cluster's PostgreSQL serves readers anyway). The simulator
// uses them to prove an attack moved nothing and to show what has been settled so far. A broker
// killed mid-write is fine: the reader sees the last committed state.
import type pg from 'pg';
import { openDatabase, type Db } from '../../broker/store/sqlite/open-database.js';
import type { Amount } from '../../shared/amount.js';
import { bigintOf, postgresQuery, sqliteQuery, type LedgerQuery } from './ledger-query.js';

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
  private constructor(private readonly query: LedgerQuery, private readonly release: () => void) {}

  /** The embedded broker's ledger, opened read-only at the first query. */
  static sqlite(dataDir: string): LedgerReader {
    let db: Db | null = null;
    const open = () => (db ??= openDatabase(dataDir, { readonly: true }));
    return new LedgerReader(sqliteQuery(open), () => {
      db?.close();
      db = null;
    });
  }

  /** The cluster's ledger, through a pool the caller closes. */
  static postgres(pool: pg.Pool): LedgerReader {
    return new LedgerReader(postgresQuery(pool), () => undefined);
  }

  async channel(id: Uint8Array): Promise<ChannelFacts | null> {
    const [row] = await this.query('SELECT payer, payee, deposit, state, latest_seq, latest_total FROM channels WHERE id = ?', [id]);
    if (row === undefined) return null;
    return { payer: String(row.payer), payee: String(row.payee), deposit: bigintOf(row.deposit) as Amount, state: row.state === 'open' ? 'open' : 'closed', latestSeq: bigintOf(row.latest_seq), latestTotal: bigintOf(row.latest_total) as Amount };
  }

  async hasVoucher(channel: Uint8Array, seq: bigint): Promise<boolean> {
    return (await this.query('SELECT 1 FROM vouchers v JOIN channels c ON c.num = v.channel WHERE c.id = ? AND v.seq = ?', [channel, seq])).length > 0;
  }

  async hasDoubleSignEvidence(channel: Uint8Array, seq: bigint, conflictingTotal: Amount): Promise<boolean> {
    return (await this.query('SELECT 1 FROM double_signs WHERE channel = ? AND seq = ? AND conflicting_total = ?', [channel, seq, conflictingTotal])).length > 0;
  }

  async settlements(): Promise<{ count: number; amount: Amount }> {
    const [row] = await this.query('SELECT count(*) AS n, COALESCE(SUM(amount), 0) AS amount FROM settlements');
    return { count: Number(bigintOf(row?.n ?? 0)), amount: bigintOf(row?.amount ?? 0) as Amount };
  }

  close(): void {
    this.release();
  }
}
