// Live views: the server-sent-event stream and the Prometheus scrape.
import * as z from 'zod';
import { HttpProblem } from './problem.js';
import { defineRoute, type Route, NONE } from './route.js';


const EVENTS_DESCRIPTION = [
  'Server-sent events. `hello` first ({serverTimeMs, online, rates}), then `rate` each second',
  '({atMs, vouchersPerSecond, rejectedPerSecond, vouchersAccepted, online}), and every message of the',
  'MQTT operator streams under its `type`: `settlement` (as on mqpay/v1/ops/settlements),',
  '`device.connected`, `device.disconnected`, `device.enrolled`, `device.disabled`, `device.enabled`,',
  '`wallet.funded`, `wallet.payout`, `fees.payout`, `wallet.moved`, `channel.closed`, `channel.closing`, `device.double-signed`, `device.rekeyed`; and `alarms` (at most one a second, when',
  'something happened: counters and the incidents since the last one, as GET /api/alarms). EventSource cannot send headers, so this route also takes ?token=.',
].join(' ');

export const liveRoutes: readonly Route[] = [
  defineRoute({
    method: 'GET', path: '/api/events', operationId: 'liveEvents', tag: 'live', access: 'operator', tokenInQuery: true,
    summary: 'Live events (vouchers/s, settlements, connects) as server-sent events',
    params: NONE, query: z.strictObject({ token: z.string().max(256).optional().describe('the operator token, for EventSource') }), body: null, errors: [503],
    responses: [{ status: 200, description: EVENTS_DESCRIPTION, contentType: 'text/event-stream' }],
    handle({ ops, response }) {
      if (!ops.live.open(response)) throw new HttpProblem('SERVICE_UNAVAILABLE', 'too many live-event streams');
      return { kind: 'streaming' };
    },
  }),
  defineRoute({
    method: 'GET', path: '/metrics', operationId: 'metrics', tag: 'live', access: 'operator',
    summary: 'Prometheus metrics (text format); amounts in micro-units', params: NONE, query: NONE, body: null,
    responses: [{ status: 200, description: 'Prometheus text exposition format 0.0.4', contentType: 'text/plain; version=0.0.4' }],
    async handle({ ops }) {
      const { registry } = ops.metrics;
      return { kind: 'raw', status: 200, contentType: registry.contentType, body: await registry.metrics() };
    },
  }),
];
