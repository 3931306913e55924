// The ledger: totals by account kind, and the full audit (`mqpay ledger check` over HTTP).
import * as z from 'zod';
import { viewAudit, viewLedger } from './resource-views.js';
import { defineRoute, json, type Route, NONE } from './route.js';
import { auditView, ledgerView, restoreView } from './view-schemas.js';
import { formatAmount } from '../../../shared/amount.js';
import type { OperatorHost } from './operator-context.js';

/** The restore record and what was healed since, and the state of scheduled backups. */
async function viewRestore(app: OperatorHost): Promise<z.input<typeof restoreView>> {
  const record = await app.reads.restoreRecord();
  const schedule = app.backups;
  return {
    restored: record === null ? null : {
      restoredAtMs: record.restoredAtMs, from: record.from, backupStartedAtMs: record.backupStartedAtMs, backupSha256: record.backupSha256,
      healed: { channels: record.healedChannels, created: record.healedCreated, amount: formatAmount(record.healedAmount) },
    },
    backups: schedule === null ? null : {
      dir: schedule.options.dir, lastBackupAtMs: schedule.lastSuccessMs === null ? null : Math.floor(schedule.lastSuccessMs), ageSeconds: schedule.ageSeconds(),
      boundSeconds: schedule.boundSeconds, overdue: schedule.overdue, succeeded: schedule.successes, failed: schedule.failures,
    },
  };
}


// [docs/DESIGN.md rule 11] Signature checks cost one verification per settled channel: asked for, not by default.
const auditQuery = z.strictObject({ verifySignatures: z.enum(['true', 'false']).optional() });

export const ledgerRoutes: readonly Route[] = [
  defineRoute({
    method: 'GET', path: '/api/ledger', operationId: 'ledgerTotals', tag: 'ledger', access: 'operator',
    summary: 'Ledger totals and currency: funded, paid out, in wallets, in escrow, fees', params: NONE, query: NONE, body: null,
    responses: [{ status: 200, description: 'totals', schema: ledgerView }],
    handle: async ({ ops }) => json(200, viewLedger(await ops.app.reads.ledgerTotals(), await ops.app.reads.ledgerFlows(), ops.app.currency)),
  }),
  defineRoute({
    method: 'GET', path: '/api/ledger/audit', operationId: 'auditLedger', tag: 'ledger', access: 'operator',
    summary: 'Audit the ledger from the transfers up (balances, sum to zero, channels, settlements); ?verifySignatures=true re-verifies every settled voucher', params: NONE, query: auditQuery, body: null,
    responses: [{ status: 200, description: 'the checks; ok is true only when every check holds', schema: auditView }],
    handle: async ({ ops, query }) => json(200, viewAudit(await ops.app.reads.audit({ verifySignatures: query.verifySignatures === 'true' }))),
  }),
  defineRoute({
    method: 'GET', path: '/api/ledger/restore', operationId: 'ledgerRestore', tag: 'ledger', access: 'operator',
    summary: 'Whether this ledger was restored from a backup (when, from which file and snapshot), what devices have healed since, and the scheduled backups\' age', params: NONE, query: NONE, body: null,
    responses: [{ status: 200, description: 'the restore record (null if never restored) and the backups', schema: restoreView }],
    handle: async ({ ops }) => json(200, await viewRestore(ops.app)),
  }),
];
