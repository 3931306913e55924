// Wallets: list balances, fund one (idempotent by key: a retried request funds once).
import type { IncomingMessage } from 'node:http';
import * as z from 'zod';
import { formatAmount, parseAmount, type Amount } from '../../../shared/amount.js';
import { isRequestId } from '../../../shared/ids.js';
import { appendJournal } from '../../backup/operator-journal.js';
import { IDEMPOTENCY_KEY_LENGTH_MAX } from '../../limits.js';
import { pageOf, pageQuery, pageSchema } from './paging.js';
import { HttpProblem } from './problem.js';
import { viewWallet } from './resource-views.js';
import { defineRoute, json, type Route, NONE } from './route.js';
import { deviceIdText } from './routes-devices.js';
import { fundResultView, walletView } from './view-schemas.js';

/** A keyed amount: funding and payouts take the same body. */
export const keyedAmountBody = z.strictObject({
  amount: z.string().max(32).transform((text) => parseAmount(text)).describe('decimal amount, e.g. "12.5"'),
  idempotencyKey: z.string().max(IDEMPOTENCY_KEY_LENGTH_MAX).optional().describe('or the Idempotency-Key header; 1-64 of [A-Za-z0-9_.:-]'),
});

/** The key from the body or the header (one is required; both must agree). */
export function idempotencyKeyOf(request: IncomingMessage, fromBody: string | undefined): string {
  const header = request.headers['idempotency-key'];
  const fromHeader = typeof header === 'string' ? header : undefined;
  if (fromBody !== undefined && fromHeader !== undefined && fromBody !== fromHeader) throw new HttpProblem('MESSAGE_INVALID', 'idempotencyKey and the Idempotency-Key header differ');
  const key = fromBody ?? fromHeader;
  if (key === undefined) throw new HttpProblem('MESSAGE_INVALID', 'an idempotency key is required (body idempotencyKey or Idempotency-Key header)');
  if (!isRequestId(key)) throw new HttpProblem('MESSAGE_INVALID', 'idempotency key must be 1-64 of [A-Za-z0-9_.:-]');
  return key;
}

export const walletRoutes: readonly Route[] = [
  defineRoute({
    method: 'GET', path: '/api/wallets', operationId: 'listWallets', tag: 'wallets', access: 'operator',
    summary: 'Wallet balances in device order', params: NONE, query: pageQuery, body: null,
    responses: [{ status: 200, description: 'a page of wallets', schema: pageSchema(walletView) }],
    handle: async ({ ops, query }) => json(200, pageOf(await ops.app.reads.walletsPage(query.limit + 1, query.offset), query, (row) => viewWallet(row, ops.app.currency))),
  }),
  defineRoute({
    method: 'POST', path: '/api/wallets/{device}/fund', operationId: 'fundWallet', tag: 'wallets', access: 'operator',
    summary: 'Move money from outside into a device wallet, once per idempotency key',
    params: z.strictObject({ device: deviceIdText }), query: NONE, body: keyedAmountBody, errors: [409],
    headers: [{ name: 'Idempotency-Key', description: 'the idempotency key, if not in the body' }],
    responses: [
      { status: 201, description: 'funded', schema: fundResultView },
      { status: 200, description: 'already funded with this key (nothing moved)', schema: fundResultView },
    ],
    async handle({ ops, params, body, request }) {
      const key = idempotencyKeyOf(request, body.idempotencyKey);
      // The rule (same key, same funding: once; another funding: IDEMPOTENCY_CONFLICT) is the service's.
      const outcome = await ops.app.service.fund(params.device, body.amount, key);
      const moved = outcome.kind === 'funded';
      const balance = outcome.balance;
      if (moved) {
        ops.logger.info({ device: params.device, amount: formatAmount(body.amount), key }, 'wallet funded by operator');
        ops.publishEvent({ type: 'wallet.funded', device: params.device, amount: formatAmount(body.amount) });
        // Committed: now journaled beside the backups, so a restore can list it for replay.
        if (ops.app.journalDir !== null) {
          try {
            appendJournal(ops.app.journalDir, { action: 'wallet.fund', device: params.device, amount: body.amount, key, by: 'api', atMs: ops.app.clock.nowMs() });
          } catch (error) {
            ops.logger.error({ err: error, key }, 'funding committed but not journaled: note its key for a restore');
          }
        }
      }
      return json(moved ? 201 : 200, { device: params.device, amount: formatAmount(body.amount), balance: formatAmount(balance), currency: ops.app.currency, moved, idempotencyKey: key });
    },
  }),
];
