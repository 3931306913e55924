// The ledger audit over PostgreSQL (`auditPostgres`), the checks of broker/store/sqlite/audit.ts
// in PostgreSQL's SQL with the same report shape, so `ledger check`, the API and the dashboard can
// show either ledger. It recomputes from the transfers up what the triggers and CHECKs are
// supposed to guarantee; all checks read one snapshot (REPEATABLE READ, READ ONLY) while the
// workers keep writing.
import type pg from 'pg';
import { EXTERNAL_ACCOUNT_KEY } from '../accounts.js';
import type { AuditCheck } from '../sqlite/audit.js';
import { chainProblemOf, type ChainRow } from '../sqlite/chain-evidence.js';
import { checkOf, PROBLEMS_SHOWN_MAX, voucherProblemOf, type SignedRow } from '../sqlite/evidence.js';
import { MqpayError } from '../../../shared/errors.js';
import { createPool, rowOf, rowsOf, type Queryable } from './pool.js';

/** Each query returns the offending rows (what, found, expected), at most PROBLEMS_SHOWN_MAX; none means the check holds. */
const CHECKS: readonly { name: string; sql: string; ok: string }[] = [
  {
    name: 'balances equal the sum of their transfers',
    sql: `SELECT * FROM (SELECT a.name AS what, a.balance AS found,
            COALESCE((SELECT SUM(amount) FROM transfers WHERE to_account = a.id), 0)
          - COALESCE((SELECT SUM(amount) FROM transfers WHERE from_account = a.id), 0) AS expected FROM accounts a) x
          WHERE found <> expected`,
    ok: 'accounts checked',
  },
  {
    name: 'all accounts sum to zero',
    sql: "SELECT 'sum' AS what, SUM(balance) AS found, 0 AS expected FROM accounts HAVING SUM(balance) <> 0",
    ok: 'sum is 0',
  },
  {
    name: 'no wallet, escrow or fee account is negative',
    sql: "SELECT name AS what, balance AS found, 0 AS expected FROM accounts WHERE kind <> 'external' AND balance < 0",
    ok: 'none negative',
  },
  {
    name: 'per channel: settled <= latest voucher total <= deposit',
    sql: `SELECT encode(id, 'hex') AS what, settled_total || ' <= ' || latest_total || ' <= ' || deposit AS found, 'ordered' AS expected
          FROM channels WHERE NOT (0 <= settled_total AND settled_total <= latest_total AND latest_total <= deposit)`,
    ok: 'channels checked',
  },
  {
    name: 'per channel: escrow holds deposit minus settled (open) or nothing (closed)',
    sql: `SELECT * FROM (SELECT encode(c.id, 'hex') AS what, a.balance AS found,
            CASE c.state WHEN 'open' THEN c.deposit - c.settled_total ELSE 0 END AS expected
          FROM channels c JOIN accounts a ON a.id = c.escrow_account) x WHERE found <> expected`,
    ok: 'escrows checked',
  },
  {
    name: 'per channel: the latest total is the accepted voucher with the highest seq (plus its chain\'s ticks)',
    sql: `SELECT * FROM (SELECT encode(c.id, 'hex') AS what, c.latest_total AS found, COALESCE(v.total, 0) + COALESCE(h.highest_index * h.price, 0) AS expected,
            EXISTS (SELECT 1 FROM vouchers w WHERE w.channel = c.num AND w.seq > c.latest_seq) AS ahead
          FROM channels c LEFT JOIN vouchers v ON v.channel = c.num AND v.seq = c.latest_seq
            LEFT JOIN chains h ON h.channel = c.num AND h.seq = c.latest_seq) x
          WHERE found <> expected OR ahead`,
    ok: 'vouchers checked',
  },
  {
    name: 'per channel: settled total equals what left its escrow as settlement and fee (nothing settled twice)',
    sql: `SELECT * FROM (SELECT encode(c.id, 'hex') AS what, c.settled_total AS found,
            COALESCE((SELECT SUM(amount) FROM transfers t WHERE t.channel = c.num AND t.kind IN ('settle', 'fee')), 0) AS expected
          FROM channels c) x WHERE found <> expected`,
    ok: 'channels checked',
  },
  {
    name: 'funding in minus payouts out equals wallets plus escrow plus fees',
    sql: `SELECT * FROM (SELECT 'held' AS what,
            (SELECT COALESCE(SUM(balance), 0) FROM accounts WHERE kind IN ('wallet', 'escrow', 'fees')) AS found,
            (SELECT COALESCE(SUM(amount), 0) FROM transfers WHERE kind = 'fund')
          - (SELECT COALESCE(SUM(amount), 0) FROM transfers WHERE kind = 'payout') AS expected) x WHERE found <> expected`,
    ok: 'funded minus paid out is held',
  },
  {
    name: 'only funding and payouts cross the external account',
    sql: `SELECT t.id AS what, t.kind AS found, 'fund or payout' AS expected FROM transfers t
          WHERE (t.from_account = ${EXTERNAL_ACCOUNT_KEY} OR t.to_account = ${EXTERNAL_ACCOUNT_KEY}) AND t.kind NOT IN ('fund', 'payout')
             OR (t.kind = 'fund' AND t.from_account <> ${EXTERNAL_ACCOUNT_KEY}) OR (t.kind = 'payout' AND t.to_account <> ${EXTERNAL_ACCOUNT_KEY})`,
    ok: 'external transfers checked',
  },
  {
    name: 'settlement lines add up to each settlement',
    sql: `SELECT * FROM (SELECT s.id AS what, COALESCE((SELECT SUM(amount) FROM settlement_lines l WHERE l.settlement = s.id), 0) AS found, s.amount AS expected
          FROM settlements s) x WHERE found <> expected`,
    ok: 'settlements checked',
  },
  {
    name: 'settlement transfers add up to each settlement',
    sql: `SELECT * FROM (SELECT s.id AS what, COALESCE((SELECT SUM(amount) FROM transfers t WHERE t.settlement = s.id), 0) AS found, s.amount AS expected
          FROM settlements s) x WHERE found <> expected`,
    ok: 'settlements checked',
  },
];

/** As in sqlite/evidence.ts: the certificate in force for `revision` (the first kept at or after it, else the current one). */
const certificateAt = (revision: string): string =>
  `COALESCE((SELECT h.certificate FROM certificate_history h WHERE h.channel = c.num AND h.revision >= ${revision} ORDER BY h.revision LIMIT 1), k.certificate)`;

async function signatureChecks(q: Queryable): Promise<AuditCheck[]> {
  const settled = await rowsOf<SignedRow & pg.QueryResultRow>(q, `SELECT c.id AS channel_id, v.seq, v.total, v.voucher, v.signature, ${certificateAt('v.revision')} AS certificate, 'settlement ' || v.settlement AS what
    FROM settlement_vouchers v JOIN channels c ON c.num = v.channel JOIN certificates k ON k.channel = c.num ORDER BY v.settlement, v.channel`);
  const latest = await rowsOf<SignedRow & pg.QueryResultRow>(q, `SELECT c.id AS channel_id, c.latest_seq AS seq, c.latest_total AS total, c.latest_voucher AS voucher, c.latest_signature AS signature, ${certificateAt('c.latest_revision')} AS certificate, 'latest' AS what
    FROM channels c JOIN certificates k ON k.channel = c.num WHERE c.latest_voucher IS NOT NULL ORDER BY c.num`);
  const chainsSettled = await rowsOf<ChainRow & pg.QueryResultRow>(q, `SELECT c.id AS channel_id, s.seq, s.total, s.checkpoint, s.signature, s.tick_index::bigint AS tick_index, s.preimage, ${certificateAt('s.revision')} AS certificate, 'settlement ' || s.settlement AS what
    FROM settlement_ticks s JOIN channels c ON c.num = s.channel JOIN certificates k ON k.channel = c.num ORDER BY s.settlement, s.channel`);
  const chainsLatest = await rowsOf<ChainRow & pg.QueryResultRow>(q, `SELECT c.id AS channel_id, h.seq, c.latest_total AS total, h.checkpoint, h.signature, h.highest_index::bigint AS tick_index, h.highest_link AS preimage, ${certificateAt('h.revision')} AS certificate, 'latest chain' AS what
    FROM chains h JOIN channels c ON c.num = h.channel AND c.latest_seq = h.seq JOIN certificates k ON k.channel = c.num ORDER BY c.num`);
  // Every ledger of this adapter kept evidence from its first settlement: no legacy exemption.
  const missing = await rowsOf<{ what: string; settlement: string }>(q, `SELECT encode(c.id, 'hex') AS what, t.settlement FROM transfers t JOIN channels c ON c.num = t.channel
    WHERE t.kind = 'settle' AND NOT EXISTS (SELECT 1 FROM settlement_vouchers v WHERE v.settlement = t.settlement AND v.channel = t.channel)
      AND NOT EXISTS (SELECT 1 FROM settlement_ticks h WHERE h.settlement = t.settlement AND h.channel = t.channel) LIMIT ${PROBLEMS_SHOWN_MAX}`);
  return [
    checkOf('signatures: the voucher behind every channel settlement verifies with the payer\'s key', settled, 'settled vouchers verified', voucherProblemOf),
    checkOf('signatures: each channel\'s latest voucher verifies with the payer\'s key', latest, 'latest vouchers verified', voucherProblemOf),
    checkOf('signatures: the checkpoint and preimage behind every chain settlement prove its total', chainsSettled, 'settled chains verified', chainProblemOf),
    checkOf('signatures: each channel\'s current chain proves its latest total', chainsLatest, 'current chains verified', chainProblemOf),
    {
      name: 'signatures: every channel settlement kept its voucher',
      ok: missing.length === 0,
      detail: missing.length === 0 ? 'every settlement since evidence was kept has its vouchers' : missing.map((row) => `channel ${row.what} in ${row.settlement}: no voucher kept`).join('; '),
    },
  ];
}

async function ledgerChecks(q: Queryable): Promise<AuditCheck[]> {
  const counts = await rowOf<{ accounts: bigint; channels: bigint; settlements: bigint; transfers: bigint }>(q, `SELECT (SELECT count(*) FROM accounts) AS accounts,
    (SELECT count(*) FROM channels) AS channels, (SELECT count(*) FROM settlements) AS settlements, (SELECT count(*) FROM transfers) AS transfers`);
  const scope = `${counts?.accounts} accounts, ${counts?.transfers} transfers, ${counts?.channels} channels, ${counts?.settlements} settlements`;
  const checks: AuditCheck[] = [];
  for (const check of CHECKS) {
    const bad = await rowsOf<{ what: string; found: unknown; expected: unknown }>(q, `${check.sql} LIMIT ${PROBLEMS_SHOWN_MAX}`);
    const detail = bad.length === 0 ? `${check.ok} (${scope})` : bad.map((row) => `${row.what}: found ${String(row.found)}, expected ${String(row.expected)}`).join('; ');
    checks.push({ name: check.name, ok: bad.length === 0, detail });
  }
  return checks;
}

/** `verifySignatures` adds the evidence checks: every settled voucher re-verified with the payer's key [docs/DESIGN.md rule 11]. */
export async function auditPostgres(pool: pg.Pool, options: { verifySignatures?: boolean } = {}): Promise<AuditCheck[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const checks = [...(await ledgerChecks(client)), ...(options.verifySignatures === true ? await signatureChecks(client) : [])];
    await client.query('COMMIT');
    return checks;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * The audit of the PostgreSQL ledger at `url` (`mqpay ledger check --store URL`): read only, never
 * migrating or creating anything; a database without an mqpay ledger is NOT_FOUND.
 */
export async function auditPostgresAt(url: string, options: { verifySignatures?: boolean } = {}): Promise<AuditCheck[]> {
  const pool = createPool(url, { size: 1 });
  try {
    const ledger = await rowOf<{ found: string | null }>(pool, "SELECT to_regclass('schema_version')::text AS found");
    if (ledger?.found === null || ledger === null) throw new MqpayError('NOT_FOUND', 'no mqpay ledger in that PostgreSQL database');
    return await auditPostgres(pool, options);
  } finally {
    await pool.end();
  }
}
