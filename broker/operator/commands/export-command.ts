// `mqpay export --from DATE --to DATE --format csv|json [--device NAME] (--data DIR | --url U)`:
// the bookkeeping export [docs/DESIGN.md rule 13], the same bytes from the data directory or
// from a running broker's GET /api/export.
import { UsageError, type Command } from '../../../cli/command.js';
import { EXPORT_ROWS_MAX } from '../../limits.js';
import { EXPORT_FORMATS, exportCsv, exportDocument, exportRows, parseExportRange, type ExportFormat } from '../bookkeeping-export.js';
import { ledgerCurrency } from '../../store/sqlite/ledger-currency.js';
import { onSource, viewSourceOptions } from './view-source.js';

function formatOf(value: unknown): ExportFormat {
  const format = EXPORT_FORMATS.find((known) => known === value);
  if (format === undefined) throw new UsageError(`--format must be ${EXPORT_FORMATS.join(' or ')}`);
  return format;
}

function textOf(value: unknown, flag: string): string {
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${flag} is required (an ISO 8601 date such as 2026-12-01, or a time such as 2026-12-01T08:30:00Z)`);
  return value;
}

export const exportCommand: Command = {
  name: ['export'],
  summary: `export transfers and settlements in [--from, --to) for bookkeeping, as CSV or JSON (at most ${EXPORT_ROWS_MAX} rows)`,
  positionals: [],
  options: {
    ...viewSourceOptions,
    from: { type: 'string', description: 'start, inclusive: 2026-12-01 (UTC midnight) or 2026-12-01T08:30:00Z' },
    to: { type: 'string', description: 'end, exclusive, same forms' },
    format: { type: 'string', description: 'csv (RFC 4180, with a header) or json', default: 'csv' },
    device: { type: 'string', description: 'only what touched this device: its wallet, or a channel where it pays or is paid' },
  },
  async run(input) {
    const from = textOf(input.values.from, 'from');
    const to = textOf(input.values.to, 'to');
    const format = formatOf(input.values.format);
    const device = typeof input.values.device === 'string' ? input.values.device : null;
    const range = parseExportRange(from, to);
    const query = new URLSearchParams({ from, to, format, ...(device === null ? {} : { device }) });
    const text = await onSource(input, {
      url: async (api) => (format === 'csv' ? api.text(`/api/export?${query}`) : JSON.stringify(await api.get(`/api/export?${query}`), null, 2)),
      data: (db) => {
        const currency = ledgerCurrency(db);
        const rows = exportRows(db, range, device, currency);
        return format === 'csv' ? exportCsv(rows) : JSON.stringify(exportDocument(rows, range, device, currency), null, 2);
      },
    });
    input.stdout(text.endsWith('\r\n') ? text.slice(0, -2) : text);
    return 0;
  },
};
