// Channels: list (newest first), one, and an operator's force-close (settles what the latest
// voucher owes, refunds the rest of the escrow to the payer, notifies both devices).
import * as z from 'zod';
import { formatAmount } from '../../../shared/amount.js';
import { MqpayError } from '../../../shared/errors.js';
import { channelIdFromHex } from '../../../shared/ids.js';
import { toHex } from '../../../shared/hex.js';
import { getChannel, listChannels } from '../../store/sqlite/channels.js';
import { pageOf, pageQuery, pageSchema } from './paging.js';
import { viewChannel } from './resource-views.js';
import { defineRoute, json, type Route, NONE } from './route.js';
import { channelView, closeResultView } from './view-schemas.js';

const idParams = z.strictObject({ id: z.string().max(128).transform((hex) => channelIdFromHex(hex)).describe('channel id, 64 hex characters') });

export const channelRoutes: readonly Route[] = [
  defineRoute({
    method: 'GET', path: '/api/channels', operationId: 'listChannels', tag: 'channels', access: 'operator',
    summary: 'Channels, newest first, with deposit, latest voucher total and settled total', params: NONE, query: pageQuery, body: null,
    responses: [{ status: 200, description: 'a page of channels', schema: pageSchema(channelView) }],
    handle: ({ ops, query }) => json(200, pageOf(listChannels(ops.app.db, query.limit + 1, query.offset), query, viewChannel)),
  }),
  defineRoute({
    method: 'GET', path: '/api/channels/{id}', operationId: 'getChannel', tag: 'channels', access: 'operator',
    summary: 'One channel', params: idParams, query: NONE, body: null,
    responses: [{ status: 200, description: 'the channel', schema: channelView }],
    handle({ ops, params }) {
      const row = getChannel(ops.app.db, params.id);
      if (row === null) throw new MqpayError('CHANNEL_UNKNOWN', toHex(params.id));
      return json(200, viewChannel(row));
    },
  }),
  defineRoute({
    method: 'POST', path: '/api/channels/{id}/close', operationId: 'closeChannel', tag: 'channels', access: 'operator',
    summary: 'Force-close a channel: settle the latest voucher, refund the rest to the payer', params: idParams, query: NONE, body: NONE, errors: [409],
    responses: [{ status: 200, description: 'closed', schema: closeResultView }],
    async handle({ ops, params }) {
      const closed = await ops.app.service.forceClose(params.id);
      const view = { channel: viewChannel(closed.channel), settled: formatAmount(closed.settled), refunded: formatAmount(closed.refunded), settlement: closed.settlement?.id ?? null };
      ops.logger.info({ channel: view.channel.id, settled: view.settled, refunded: view.refunded }, 'channel force-closed by operator');
      ops.publishEvent({ type: 'channel.closed', channel: view.channel.id, settled: view.settled, refunded: view.refunded });
      return json(200, view);
    },
  }),
];
