// The bookkeeping export over HTTP [docs/DESIGN.md rule 13]: transfers (fund, payout, move,
// settle, fee, refund, ...) and settlements in [from, to), as CSV or JSON, optionally for one
// device. Bounded by EXPORT_ROWS_MAX.
import * as z from 'zod';
import { EXPORT_ROWS_MAX } from '../../limits.js';
import { EXPORT_COLUMNS, EXPORT_FORMATS, exportCsv, exportDocument, exportRowsFrom, parseExportRange } from '../bookkeeping-export.js';
import { defineRoute, json, type Route, NONE } from './route.js';
import { deviceIdText } from './routes-devices.js';

const exportQuery = z.strictObject({
  from: z.string().max(40).describe('start, inclusive: ISO 8601 date (2026-12-01, UTC midnight) or time (2026-12-01T08:30:00Z)'),
  to: z.string().max(40).describe('end, exclusive, same forms'),
  format: z.enum(EXPORT_FORMATS).default('json').describe('csv (RFC 4180, with a header) or json'),
  device: deviceIdText.optional().describe('only what touched this device: its wallet, or a channel where it pays or is paid'),
});

const rowView = z.strictObject(Object.fromEntries(EXPORT_COLUMNS.map((column) => [column, z.string().nullable()])));
const exportView = z.strictObject({ currency: z.string(), from: z.string(), to: z.string(), device: z.string().nullable(), rows: z.array(rowView) });

export const exportRoutes: readonly Route[] = [
  defineRoute({
    method: 'GET', path: '/api/export', operationId: 'exportLedger', tag: 'ledger', access: 'operator',
    summary: `Bookkeeping export: transfers and settlements in [from, to), CSV or JSON, at most ${EXPORT_ROWS_MAX} rows (more: 413, narrow the range)`,
    params: NONE, query: exportQuery, body: null, errors: [413],
    responses: [
      { status: 200, description: `the rows: JSON as below, or with format=csv text/csv with the header ${EXPORT_COLUMNS.join(',')}`, schema: exportView },
    ],
    async handle({ ops, query }) {
      const range = parseExportRange(query.from, query.to);
      const device = query.device ?? null;
      const rows = await exportRowsFrom(ops.app.reads, range, device, ops.app.currency);
      if (query.format === 'json') return json(200, exportDocument(rows, range, device, ops.app.currency));
      return { kind: 'raw', status: 200, contentType: 'text/csv; charset=utf-8', body: exportCsv(rows) };
    },
  }),
];
