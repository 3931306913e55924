// The bookkeeping export (`mqpay export`, `GET /api/export`) [docs/DESIGN.md rule 13]: the range
// [from, to) as ISO 8601 dates, the rows as flat records (ISO time, decimal amounts, the ledger
// currency, ids and idempotency keys), and their CSV (RFC 4180) and JSON forms. Shared by the
// HTTP route and the CLI's --data mode, so both print the same bytes.
import { formatAmount } from '../../shared/amount.js';
import { MqpayError } from '../../shared/errors.js';
import { toHex } from '../../shared/hex.js';
import { checkDeviceId } from '../../shared/ids.js';
import { EXPORT_ROWS_MAX } from '../limits.js';
import { exportRecords, type ExportQuery, type ExportRecord } from '../store/sqlite/export-rows.js';
import type { OperatorReads } from '../store/operator-reads.js';
import type { Db } from '../store/sqlite/open-database.js';

export const EXPORT_FORMATS = ['csv', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportRange {
  readonly fromMs: number;
  readonly toMs: number;
}

/** Columns, in CSV order. Empty (CSV) or null (JSON) where a record has no such value. */
export const EXPORT_COLUMNS = ['time', 'record', 'kind', 'id', 'from', 'to', 'amount', 'fee', 'currency', 'channel', 'settlement', 'key'] as const;
export type ExportRow = Record<(typeof EXPORT_COLUMNS)[number], string | null>;

// A date (2026-12-01, midnight UTC) or a date and time with seconds optional and a zone
// (2026-12-01T08:30:00Z, ...+01:00). Anything else, or a date that does not exist, is refused.
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/;

export function parseExportDate(text: string, what: string): number {
  const match = ISO_DATE.exec(text);
  const ms = match === null ? Number.NaN : Date.parse(match[4] === undefined ? `${text}T00:00:00Z` : text);
  // Date.parse rolls 2026-02-30 over to March: the calendar date must read back the same.
  const real = match !== null && !Number.isNaN(ms) && new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))).toISOString().startsWith(`${match[1]}-${match[2]}-${match[3]}`);
  if (!real) throw new MqpayError('MESSAGE_INVALID', `${what} must be an ISO 8601 date (2026-12-01) or time (2026-12-01T08:30:00Z), got ${JSON.stringify(text)}`);
  return ms;
}

export function parseExportRange(from: string, to: string): ExportRange {
  const range = { fromMs: parseExportDate(from, 'from'), toMs: parseExportDate(to, 'to') };
  if (range.fromMs > range.toMs) throw new MqpayError('MESSAGE_INVALID', `from (${from}) is after to (${to}); to is exclusive`);
  return range;
}

const KEYED_KINDS = new Set(['fund', 'payout', 'move']);

function rowOf(record: ExportRecord, currency: string): ExportRow {
  const time = new Date(record.atMs).toISOString();
  if (record.record === 'settlement') {
    return { time, record: 'settlement', kind: record.kind, id: record.id, from: null, to: null, amount: formatAmount(record.amount), fee: formatAmount(record.fee), currency, channel: null, settlement: record.id, key: null };
  }
  const key = KEYED_KINDS.has(record.kind) ? record.id.slice(record.kind.length + 1) : null;
  return {
    time, record: 'transfer', kind: record.kind, id: record.id, from: record.from, to: record.to, amount: formatAmount(record.amount), fee: null, currency,
    channel: record.channel === null ? null : toHex(record.channel), settlement: record.settlement, key,
  };
}

/** The rows of a range, at most `rowsMax` (more is MESSAGE_TOO_LARGE: narrow the range). */
export function exportRows(db: Db, range: ExportRange, device: string | null, currency: string, rowsMax = EXPORT_ROWS_MAX): ExportRow[] {
  return rowsOfRecords(exportRecords(db, exportQueryOf(range, device, rowsMax)), currency, rowsMax);
}

/** The same rows through the operator reads port (either ledger: the HTTP API's export). */
export async function exportRowsFrom(reads: OperatorReads, range: ExportRange, device: string | null, currency: string, rowsMax = EXPORT_ROWS_MAX): Promise<ExportRow[]> {
  return rowsOfRecords(await reads.exportRecords(exportQueryOf(range, device, rowsMax)), currency, rowsMax);
}

const exportQueryOf = (range: ExportRange, device: string | null, rowsMax: number): ExportQuery =>
  ({ ...range, device: device === null ? null : checkDeviceId(device), limit: rowsMax + 1 });

function rowsOfRecords(records: readonly ExportRecord[], currency: string, rowsMax: number): ExportRow[] {
  if (records.length > rowsMax) throw new MqpayError('MESSAGE_TOO_LARGE', `more than ${rowsMax} rows in this range; export a narrower one`);
  return records.map((record) => rowOf(record, currency));
}

/** RFC 4180: a field with a comma, quote, CR or LF is quoted, its quotes doubled; lines end CRLF. */
function csvField(value: string | null): string {
  if (value === null) return '';
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function exportCsv(rows: readonly ExportRow[]): string {
  const lines = [EXPORT_COLUMNS.join(','), ...rows.map((row) => EXPORT_COLUMNS.map((column) => csvField(row[column])).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}

export interface ExportDocument {
  readonly currency: string;
  readonly from: string;
  readonly to: string;
  readonly device: string | null;
  readonly rows: readonly ExportRow[];
}

export function exportDocument(rows: readonly ExportRow[], range: ExportRange, device: string | null, currency: string): ExportDocument {
  return { currency, from: new Date(range.fromMs).toISOString(), to: new Date(range.toMs).toISOString(), device, rows };
}
