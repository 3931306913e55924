// Settlements: paged newest first, one with its lines, and "settle now".
import * as z from 'zod';
import { MqpayError } from '../../../shared/errors.js';
import { pageOf, pageQuery, pageSchema } from './paging.js';
import { viewSettlement, viewSettlementDetail } from './resource-views.js';
import { defineRoute, json, type Route, NONE } from './route.js';
import { settleNowView, settlementDetailView, settlementView } from './view-schemas.js';

const idParams = z.strictObject({ id: z.string().min(1).max(128).describe('settlement id, e.g. epoch-29012345 or close-{channel}') });

export const settlementRoutes: readonly Route[] = [
  defineRoute({
    method: 'GET', path: '/api/settlements', operationId: 'listSettlements', tag: 'settlements', access: 'operator',
    summary: 'Settlements, newest first', params: NONE, query: pageQuery, body: null,
    responses: [{ status: 200, description: 'a page of settlements', schema: pageSchema(settlementView) }],
    handle: async ({ ops, query }) => json(200, pageOf(await ops.app.reads.settlementsPage(query.limit + 1, query.offset), query, (row) => viewSettlement(row, ops.app.currency))),
  }),
  defineRoute({
    method: 'POST', path: '/api/settlements', operationId: 'settleNow', tag: 'settlements', access: 'operator',
    summary: 'Settle every channel with an unsettled voucher now (an epoch out of turn)', params: NONE, query: NONE, body: NONE,
    responses: [
      { status: 201, description: 'settled', schema: settleNowView },
      { status: 200, description: 'nothing was unsettled; no settlement recorded', schema: settleNowView },
    ],
    async handle({ ops }) {
      const outcome = await ops.app.service.settleNow();
      if (outcome.kind !== 'settled') return json(200, { settlement: null });
      const { result } = outcome;
      ops.logger.info({ settlement: result.id }, 'settlement triggered by operator');
      const row = { id: result.id, reason: result.reason, channels: result.channelCount, amount: result.amount, fee: result.fee, createdAtMs: result.createdAtMs };
      return json(201, { settlement: viewSettlementDetail(row, await ops.app.reads.settlementLines(result.id), ops.app.currency) });
    },
  }),
  defineRoute({
    method: 'GET', path: '/api/settlements/{id}', operationId: 'getSettlement', tag: 'settlements', access: 'operator',
    summary: 'One settlement with one line per credited account', params: idParams, query: NONE, body: null,
    responses: [{ status: 200, description: 'the settlement', schema: settlementDetailView }],
    async handle({ ops, params }) {
      const row = await ops.app.reads.settlement(params.id);
      if (row === null) throw new MqpayError('NOT_FOUND', `no settlement ${params.id}`);
      return json(200, viewSettlementDetail(row, await ops.app.reads.settlementLines(row.id), ops.app.currency));
    },
  }),
];
