// Channels: list (newest first), one, its evidence (certificate and settled vouchers), and an operator's force-close (settles what the latest
// voucher owes, refunds the rest of the escrow to the payer, notifies both devices).
import * as z from 'zod';
import { formatAmount } from '../../../shared/amount.js';
import { MqpayError } from '../../../shared/errors.js';
import { channelIdFromHex } from '../../../shared/ids.js';
import { toHex } from '../../../shared/hex.js';
import { pageOf, pageQuery, pageSchema } from './paging.js';
import { viewChannel } from './resource-views.js';
import { defineRoute, json, type Route, NONE } from './route.js';
import { channelView, closeResultView, evidenceView } from './view-schemas.js';

// [docs/DESIGN.md rule 11] An immediate close skips the window only when asked explicitly.
const closeQuery = z.strictObject({ immediate: z.enum(['true', 'false']).optional().describe('true: settle at once, without a dispute window (recorded)') });
const idParams = z.strictObject({ id: z.string().max(128).transform((hex) => channelIdFromHex(hex)).describe('channel id, 64 hex characters') });

export const channelRoutes: readonly Route[] = [
  defineRoute({
    method: 'GET', path: '/api/channels', operationId: 'listChannels', tag: 'channels', access: 'operator',
    summary: 'Channels, newest first, with deposit, latest voucher total and settled total', params: NONE, query: pageQuery, body: null,
    responses: [{ status: 200, description: 'a page of channels', schema: pageSchema(channelView) }],
    handle: async ({ ops, query }) => json(200, pageOf(await ops.app.reads.channelsPage(query.limit + 1, query.offset), query, (row) => viewChannel(row, ops.app.currency))),
  }),
  defineRoute({
    method: 'GET', path: '/api/channels/{id}', operationId: 'getChannel', tag: 'channels', access: 'operator',
    summary: 'One channel', params: idParams, query: NONE, body: null,
    responses: [{ status: 200, description: 'the channel', schema: channelView }],
    async handle({ ops, params }) {
      const row = await ops.app.reads.channel(params.id);
      if (row === null) throw new MqpayError('CHANNEL_UNKNOWN', toHex(params.id));
      return json(200, viewChannel(row, ops.app.currency));
    },
  }),
  defineRoute({
    method: 'GET', path: '/api/channels/{id}/evidence', operationId: 'channelEvidence', tag: 'channels', access: 'operator',
    summary: 'A channel\'s certificate, latest and settled vouchers and any double-signs, bytes and signatures as hex (`mqpay channel evidence`)',
    params: idParams, query: NONE, body: null,
    responses: [{ status: 200, description: 'the evidence', schema: evidenceView }],
    async handle({ ops, params }) {
      const evidence = await ops.app.reads.channelEvidence(params.id);
      if (evidence === null) throw new MqpayError('CHANNEL_UNKNOWN', toHex(params.id));
      return json(200, evidence);
    },
  }),
  defineRoute({
    method: 'POST', path: '/api/channels/{id}/close', operationId: 'closeChannel', tag: 'channels', access: 'operator',
    summary: 'Force-close a channel: opens its dispute window (the payee may still redeem a better voucher), then settles the latest voucher and refunds the rest to the payer; ?immediate=true settles at once and is recorded',
    params: idParams, query: closeQuery, body: NONE, errors: [409],
    responses: [{ status: 200, description: 'closing (settled and refunded null until the deadline) or closed', schema: closeResultView }],
    async handle({ ops, params, query }) {
      const immediate = query.immediate === 'true';
      const result = await ops.app.service.forceClose(params.id, { immediate });
      const view = {
        channel: viewChannel(result.channel, ops.app.currency),
        settled: result.settled === null ? null : formatAmount(result.settled),
        refunded: result.refunded === null ? null : formatAmount(result.refunded),
        settlement: result.settlement?.id ?? null,
      };
      if (result.settled !== null && result.refunded !== null) {
        ops.logger.info({ channel: view.channel.id, settled: view.settled, refunded: view.refunded, immediate }, 'channel force-closed by operator');
        ops.publishEvent({ type: 'channel.closed', channel: view.channel.id, settled: formatAmount(result.settled), refunded: formatAmount(result.refunded) });
      } else if (result.channel.closingDeadlineMs !== null) {
        ops.logger.info({ channel: view.channel.id, closesAtMs: result.channel.closingDeadlineMs }, 'channel closing by operator');
        ops.publishEvent({ type: 'channel.closing', channel: view.channel.id, closesAtMs: result.channel.closingDeadlineMs });
      }
      return json(200, view);
    },
  }),
];
