// Evidence that stands on its own [docs/DESIGN.md rule 11]: the voucher behind every channel
// settlement (and each channel's latest) is kept as its signed bytes and signature, so anyone
// with the payer's public key (it is in the service-signed channel certificate in force when the
// voucher was accepted, kept across key rotations) can check that
// the payer really owed what was paid out. `verifySignatureChecks` re-verifies them for
// `mqpay ledger check --verify-signatures` and the API audit; `channelEvidence` exports one
// channel's for `mqpay channel evidence`.
import { decodeStoredCertificate } from '../../../shared/certificate.js';
import { verify } from '../../../shared/crypto.js';
import { bytesEqual, toHex } from '../../../shared/hex.js';
import { decodeVoucher } from '../../../shared/voucher.js';
import { statement } from '../../../sqlite/statement.js';
import type { AuditCheck } from './audit.js';
import { chainEvidenceRows, chainProblemOf } from './chain-evidence.js';
import type { Db } from './open-database.js';

/** Problems listed per failed check; the count is always given. */
export const PROBLEMS_SHOWN_MAX = 5;

export interface SignedRow { channel_id: Buffer; seq: bigint; total: bigint; voucher: Buffer | null; signature: Buffer | null; certificate: Buffer; what: string }

/** Why a stored voucher does not prove its row, or null when it does. */
export function voucherProblemOf(row: SignedRow): string | null {
  if (row.voucher === null || row.signature === null) return 'no voucher bytes';
  let voucher;
  let payerKey;
  try {
    voucher = decodeVoucher(new Uint8Array(row.voucher));
    payerKey = decodeStoredCertificate(new Uint8Array(row.certificate)).payerKey;
  } catch {
    return 'voucher or certificate does not decode';
  }
  if (!bytesEqual(voucher.channelId, new Uint8Array(row.channel_id))) return 'voucher names another channel';
  if (voucher.seq !== row.seq || voucher.total !== row.total) return `voucher says seq ${voucher.seq} total ${voucher.total}, ledger seq ${row.seq} total ${row.total}`;
  if (!verify(new Uint8Array(row.signature), new Uint8Array(row.voucher), payerKey)) return 'payer signature does not verify';
  return null;
}

export function checkOf<Row extends { channel_id: Buffer; what: string }>(name: string, rows: Iterable<Row>, ok: string, problemOf: (row: Row) => string | null): AuditCheck {
  const problems: string[] = [];
  let checked = 0;
  let failed = 0;
  for (const row of rows) {
    checked += 1;
    const problem = problemOf(row);
    if (problem === null) continue;
    failed += 1;
    if (problems.length < PROBLEMS_SHOWN_MAX) problems.push(`channel ${toHex(new Uint8Array(row.channel_id))} (${row.what}): ${problem}`);
  }
  return failed === 0 ? { name, ok: true, detail: `${checked} ${ok}` } : { name, ok: false, detail: `${failed} of ${checked} fail: ${problems.join('; ')}` };
}

/**
 * SQL for the certificate a voucher judged under `revision` was checked against: a rotation keeps
 * the certificate it replaced (`certificate_history`), and top-ups between rotations keep the
 * keys, so it is the first kept one at or after that revision, else the channel's current one
 * [docs/DESIGN.md rule 12]. Needs the channel as `c` and its current certificate as `k`.
 */
function certificateAt(revision: string): string {
  return `COALESCE((SELECT h.certificate FROM certificate_history h WHERE h.channel = c.num AND h.revision >= ${revision} ORDER BY h.revision LIMIT 1), k.certificate)`;
}

export function verifySignatureChecks(db: Db): AuditCheck[] {
  const settled = statement(db, `SELECT c.id AS channel_id, v.seq, v.total, v.voucher, v.signature, ${certificateAt('v.revision')} AS certificate, 'settlement ' || v.settlement AS what
    FROM settlement_vouchers v JOIN channels c ON c.num = v.channel JOIN certificates k ON k.channel = c.num ORDER BY v.settlement, v.channel`).iterate() as Iterable<SignedRow>;
  const latest = statement(db, `SELECT c.id AS channel_id, c.latest_seq AS seq, c.latest_total AS total, c.latest_voucher AS voucher, c.latest_signature AS signature, ${certificateAt('c.latest_revision')} AS certificate, 'latest' AS what
    FROM channels c JOIN certificates k ON k.channel = c.num WHERE c.latest_voucher IS NOT NULL ORDER BY c.num`).iterate() as Iterable<SignedRow>;
  const from = statement(db, "SELECT value FROM meta WHERE key = 'evidence_from_settlement'").get() as { value: string } | undefined;
  const chains = chainEvidenceRows(db, certificateAt);
  // A settlement without its voucher (or its chain, v3) is a failure, except the one settlement of a voucher
  // accepted before schema 3 (a legacy channel's settlements before its first kept voucher).
  const missing = statement(db, `SELECT hex(c.id) AS what, t.settlement FROM transfers t JOIN channels c ON c.num = t.channel JOIN settlements s ON s.id = t.settlement
    WHERE t.kind = 'settle' AND s.rowid >= ? AND NOT EXISTS (SELECT 1 FROM settlement_vouchers v WHERE v.settlement = t.settlement AND v.channel = t.channel)
      AND NOT EXISTS (SELECT 1 FROM settlement_ticks h WHERE h.settlement = t.settlement AND h.channel = t.channel)
      AND NOT (c.legacy_seq IS NOT NULL AND NOT EXISTS (SELECT 1 FROM settlement_vouchers w JOIN settlements p ON p.id = w.settlement WHERE w.channel = c.num AND p.rowid < s.rowid)) LIMIT ?`)
    .all(BigInt(from?.value ?? '1'), BigInt(PROBLEMS_SHOWN_MAX)) as { what: string; settlement: string }[];
  return [
    checkOf('signatures: the voucher behind every channel settlement verifies with the payer\'s key', settled, 'settled vouchers verified', voucherProblemOf),
    checkOf('signatures: each channel\'s latest voucher verifies with the payer\'s key', latest, 'latest vouchers verified', voucherProblemOf),
    checkOf('signatures: the checkpoint and preimage behind every chain settlement prove its total', chains.settled, 'settled chains verified', chainProblemOf),
    checkOf('signatures: each channel\'s current chain proves its latest total', chains.latest, 'current chains verified', chainProblemOf),
    {
      name: 'signatures: every channel settlement kept its voucher',
      ok: missing.length === 0,
      detail: missing.length === 0 ? 'every settlement since evidence was kept has its vouchers' : missing.map((row) => `channel ${row.what.toLowerCase()} in ${row.settlement}: no voucher kept`).join('; '),
    },
  ];
}

export interface ChannelEvidence {
  readonly channel: string;
  readonly payer: string;
  readonly payee: string;
  readonly state: string;
  readonly certificate: { readonly revision: number; readonly bytes: string; readonly signature: string };
  /** Certificates a key rotation replaced: a voucher judged under revision r is checked with the first one at or after r. */
  readonly earlierCertificates: readonly { readonly revision: number; readonly bytes: string; readonly signature: string }[];
  readonly latest: { readonly seq: string; readonly total: string; readonly revision: number | null; readonly voucher: string; readonly signature: string } | null;
  readonly settled: readonly { readonly settlement: string; readonly seq: string; readonly total: string; readonly revision: number; readonly voucher: string; readonly signature: string }[];
  readonly doubleSigns: readonly { readonly seq: string; readonly acceptedTotal: string; readonly conflictingTotal: string; readonly voucher: string; readonly signature: string }[];
}

/** The channel row the evidence starts from (both ledgers select these columns). */
export interface EvidenceChannelRow {
  num: bigint; id: Buffer; payer: string; payee: string; state: string; closing_deadline_ms: bigint | null; latest_seq: bigint; latest_total: bigint;
  latest_voucher: Buffer | null; latest_signature: Buffer | null; latest_revision: bigint | number | null; revision: bigint | number; certificate: Buffer; signature: Buffer;
}
export type EvidenceSettledRow = { settlement: string; seq: bigint; total: bigint; revision: bigint | number; voucher: Buffer; signature: Buffer };
export type EvidenceCertificateRow = { revision: bigint | number; certificate: Buffer; signature: Buffer };
export type EvidenceDoubleSignRow = { seq: bigint; accepted_total: bigint; conflicting_total: bigint; voucher: Buffer; signature: Buffer };

export const EVIDENCE_CHANNEL_COLUMNS = `c.num, c.id, c.payer, c.payee, c.state, c.closing_deadline_ms, c.latest_seq, c.latest_total, c.latest_voucher, c.latest_signature, c.latest_revision,
    k.revision, k.certificate, k.signature FROM channels c JOIN certificates k ON k.channel = c.num WHERE c.id =`;

/** The evidence document from its rows (the same for SQLite and PostgreSQL). */
export function evidenceOf(row: EvidenceChannelRow, settled: readonly EvidenceSettledRow[], earlier: readonly EvidenceCertificateRow[], doubles: readonly EvidenceDoubleSignRow[]): ChannelEvidence {
  const hex = (bytes: Buffer) => toHex(new Uint8Array(bytes));
  return {
    channel: hex(row.id), payer: row.payer, payee: row.payee,
    state: row.state === 'open' && row.closing_deadline_ms !== null ? 'closing' : row.state,
    certificate: { revision: Number(row.revision), bytes: hex(row.certificate), signature: hex(row.signature) },
    earlierCertificates: earlier.map((e) => ({ revision: Number(e.revision), bytes: hex(e.certificate), signature: hex(e.signature) })),
    latest: row.latest_voucher === null || row.latest_signature === null ? null : {
      seq: row.latest_seq.toString(), total: row.latest_total.toString(), revision: row.latest_revision === null ? null : Number(row.latest_revision),
      voucher: hex(row.latest_voucher), signature: hex(row.latest_signature),
    },
    settled: settled.map((s) => ({ settlement: s.settlement, seq: s.seq.toString(), total: s.total.toString(), revision: Number(s.revision), voucher: hex(s.voucher), signature: hex(s.signature) })),
    doubleSigns: doubles.map((d) => ({ seq: d.seq.toString(), acceptedTotal: d.accepted_total.toString(), conflictingTotal: d.conflicting_total.toString(), voucher: hex(d.voucher), signature: hex(d.signature) })),
  };
}

/** One channel's evidence, all bytes hex; null when the channel does not exist. Totals are micro-units. */
export function channelEvidence(db: Db, id: Uint8Array): ChannelEvidence | null {
  const row = statement(db, `SELECT ${EVIDENCE_CHANNEL_COLUMNS} ?`).get(id) as EvidenceChannelRow | undefined;
  if (row === undefined) return null;
  const settled = statement(db, 'SELECT settlement, seq, total, revision, voucher, signature FROM settlement_vouchers WHERE channel = ? ORDER BY seq').all(row.num) as EvidenceSettledRow[];
  const earlier = statement(db, 'SELECT revision, certificate, signature FROM certificate_history WHERE channel = ? ORDER BY revision').all(row.num) as EvidenceCertificateRow[];
  const doubles = statement(db, 'SELECT seq, accepted_total, conflicting_total, voucher, signature FROM double_signs WHERE channel = ? ORDER BY seq, conflicting_total').all(row.id) as EvidenceDoubleSignRow[];
  return evidenceOf(row, settled, earlier, doubles);
}
