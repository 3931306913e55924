// The ledger audit behind `mqpay ledger check`: recomputes what the triggers and CHECKs are
// supposed to guarantee, from the transfers up, so a bug in either shows as a failed check.
import type { Db } from './open-database.js';
import { statement } from '../../../sqlite/statement.js';
import { verifySignatureChecks } from './evidence.js';

export interface AuditCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** Each query returns the offending rows (at most 5 shown); no rows means the check holds. */
const CHECKS: readonly { name: string; sql: string; ok: string }[] = [
  {
    name: 'balances equal the sum of their transfers',
    sql: `SELECT a.name AS what, a.balance AS found,
            COALESCE((SELECT SUM(amount) FROM transfers WHERE to_account = a.id), 0)
          - COALESCE((SELECT SUM(amount) FROM transfers WHERE from_account = a.id), 0) AS expected
          FROM accounts a WHERE found <> expected LIMIT 5`,
    ok: 'accounts checked',
  },
  {
    name: 'all accounts sum to zero',
    sql: 'SELECT \'sum\' AS what, SUM(balance) AS found, 0 AS expected FROM accounts HAVING SUM(balance) <> 0',
    ok: 'sum is 0',
  },
  {
    name: 'no wallet, escrow or fee account is negative',
    sql: "SELECT name AS what, balance AS found, 0 AS expected FROM accounts WHERE kind <> 'external' AND balance < 0 LIMIT 5",
    ok: 'none negative',
  },
  {
    name: 'per channel: settled <= latest voucher total <= deposit',
    sql: 'SELECT hex(id) AS what, settled_total || \' <= \' || latest_total || \' <= \' || deposit AS found, \'ordered\' AS expected FROM channels WHERE NOT (0 <= settled_total AND settled_total <= latest_total AND latest_total <= deposit) LIMIT 5',
    ok: 'channels checked',
  },
  {
    name: 'per channel: escrow holds deposit minus settled (open) or nothing (closed)',
    sql: `SELECT hex(c.id) AS what, a.balance AS found,
            CASE c.state WHEN 'open' THEN c.deposit - c.settled_total ELSE 0 END AS expected
          FROM channels c JOIN accounts a ON a.id = c.escrow_account
          WHERE found <> expected LIMIT 5`,
    ok: 'escrows checked',
  },
  {
    // A hash chain (v3) at the latest seq adds its ticks: checkpoint total + highest index x price.
    name: 'per channel: the latest total is the accepted voucher with the highest seq (plus its chain\'s ticks)',
    sql: `SELECT hex(c.id) AS what, c.latest_total AS found, COALESCE(v.total, 0) + COALESCE(h.highest_index * h.price, 0) AS expected
          FROM channels c LEFT JOIN vouchers v ON v.channel = c.num AND v.seq = c.latest_seq
            LEFT JOIN chains h ON h.channel = c.num AND h.seq = c.latest_seq
          WHERE c.latest_total <> expected
             OR EXISTS (SELECT 1 FROM vouchers w WHERE w.channel = c.num AND w.seq > c.latest_seq) LIMIT 5`,
    ok: 'vouchers checked',
  },
  {
    name: 'per channel: settled total equals what left its escrow as settlement and fee (nothing settled twice)',
    sql: `SELECT hex(c.id) AS what, c.settled_total AS found,
            COALESCE((SELECT SUM(amount) FROM transfers t WHERE t.channel = c.num AND t.kind IN ('settle', 'fee')), 0) AS expected
          FROM channels c WHERE found <> expected LIMIT 5`,
    ok: 'channels checked',
  },
  {
    // [docs/DESIGN.md rule 13] Money in minus money out is what the ledger holds.
    name: 'funding in minus payouts out equals wallets plus escrow plus fees',
    sql: `SELECT 'held' AS what,
            (SELECT COALESCE(SUM(balance), 0) FROM accounts WHERE kind IN ('wallet', 'escrow', 'fees')) AS found,
            (SELECT COALESCE(SUM(amount), 0) FROM transfers WHERE kind = 'fund')
          - (SELECT COALESCE(SUM(amount), 0) FROM transfers WHERE kind = 'payout') AS expected
          WHERE found <> expected`,
    ok: 'funded minus paid out is held',
  },
  {
    name: 'only funding and payouts cross the external account',
    sql: `SELECT t.id AS what, t.kind AS found, 'fund or payout' AS expected FROM transfers t
          WHERE (t.from_account = 1 OR t.to_account = 1) AND t.kind NOT IN ('fund', 'payout')
             OR (t.kind = 'fund' AND t.from_account <> 1) OR (t.kind = 'payout' AND t.to_account <> 1) LIMIT 5`,
    ok: 'external transfers checked',
  },
  {
    name: 'settlement lines add up to each settlement',
    sql: `SELECT s.id AS what, COALESCE((SELECT SUM(amount) FROM settlement_lines l WHERE l.settlement = s.id), 0) AS found, s.amount AS expected
          FROM settlements s WHERE found <> expected LIMIT 5`,
    ok: 'settlements checked',
  },
  {
    name: 'settlement transfers add up to each settlement',
    sql: `SELECT s.id AS what, COALESCE((SELECT SUM(amount) FROM transfers t WHERE t.settlement = s.id), 0) AS found, s.amount AS expected
          FROM settlements s WHERE found <> expected LIMIT 5`,
    ok: 'settlements checked',
  },
];

function countOf(db: Db, table: string): bigint {
  return (statement(db, `SELECT count(*) AS n FROM ${table}`).get() as { n: bigint }).n;
}

/** `verifySignatures` adds the evidence checks: every settled voucher re-verified with the payer's key [docs/DESIGN.md rule 11]. */
export function auditLedger(db: Db, options: { verifySignatures?: boolean } = {}): AuditCheck[] {
  const counts = { accounts: countOf(db, 'accounts'), channels: countOf(db, 'channels'), settlements: countOf(db, 'settlements'), transfers: countOf(db, 'transfers') };
  // One read transaction so the checks see one consistent snapshot while the broker writes.
  return db.transaction(() => [
    ...CHECKS.map((check) => {
      const bad = statement(db, check.sql).all() as { what: string; found: unknown; expected: unknown }[];
      const scope = `${counts.accounts} accounts, ${counts.transfers} transfers, ${counts.channels} channels, ${counts.settlements} settlements`;
      const detail = bad.length === 0 ? `${check.ok} (${scope})` : bad.map((row) => `${row.what}: found ${String(row.found)}, expected ${String(row.expected)}`).join('; ');
      return { name: check.name, ok: bad.length === 0, detail };
    }),
    ...(options.verifySignatures === true ? verifySignatureChecks(db) : []),
  ]).deferred();
}
