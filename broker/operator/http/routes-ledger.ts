// The ledger: totals by account kind, and the full audit (`mqpay ledger check` over HTTP).
import * as z from 'zod';
import { auditLedger } from '../../store/sqlite/audit.js';
import { ledgerFlows, ledgerTotals } from '../../store/sqlite/operator-reads.js';
import { viewAudit, viewLedger } from './resource-views.js';
import { defineRoute, json, type Route, NONE } from './route.js';
import { auditView, ledgerView } from './view-schemas.js';


// [docs/DESIGN.md rule 11] Signature checks cost one verification per settled channel: asked for, not by default.
const auditQuery = z.strictObject({ verifySignatures: z.enum(['true', 'false']).optional() });

export const ledgerRoutes: readonly Route[] = [
  defineRoute({
    method: 'GET', path: '/api/ledger', operationId: 'ledgerTotals', tag: 'ledger', access: 'operator',
    summary: 'Ledger totals and currency: funded, paid out, in wallets, in escrow, fees', params: NONE, query: NONE, body: null,
    responses: [{ status: 200, description: 'totals', schema: ledgerView }],
    handle: ({ ops }) => json(200, viewLedger(ledgerTotals(ops.app.db), ledgerFlows(ops.app.db), ops.app.currency)),
  }),
  defineRoute({
    method: 'GET', path: '/api/ledger/audit', operationId: 'auditLedger', tag: 'ledger', access: 'operator',
    summary: 'Audit the ledger from the transfers up (balances, sum to zero, channels, settlements); ?verifySignatures=true re-verifies every settled voucher', params: NONE, query: auditQuery, body: null,
    responses: [{ status: 200, description: 'the checks; ok is true only when every check holds', schema: auditView }],
    handle: ({ ops, query }) => json(200, viewAudit(auditLedger(ops.app.db, { verifySignatures: query.verifySignatures === 'true' }))),
  }),
];
