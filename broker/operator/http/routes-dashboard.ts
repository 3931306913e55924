// The dashboard's reads: headline totals from SQL aggregates (right at any fleet size, unlike a
// count of one page), the alarms, and one device's activity for the device page (every list
// bounded).
import * as z from 'zod';
import { amountOf, formatAmount } from '../../../shared/amount.js';
import { MqpayError } from '../../../shared/errors.js';
import { toHex } from '../../../shared/hex.js';
import type { OpsEvent } from '../../../shared/ops-events.js';
import { DEVICE_ACTIVITY_CHANNELS_MAX, DEVICE_ACTIVITY_ITEMS_DEFAULT, DEVICE_ACTIVITY_ITEMS_MAX } from '../../limits.js';
import { alarmsView, deviceActivityView, summaryView } from './dashboard-views.js';
import type { OperatorContext } from './operator-context.js';
import { integerParam } from './paging.js';
import { viewChannel, viewDevice, viewLedger } from './resource-views.js';
import { defineRoute, json, type Route, NONE } from './route.js';
import { deviceIdText } from './routes-devices.js';

const activityQuery = z.strictObject({
  limit: integerParam(1, DEVICE_ACTIVITY_ITEMS_MAX).default(DEVICE_ACTIVITY_ITEMS_DEFAULT).describe(`items per list, 1-${DEVICE_ACTIVITY_ITEMS_MAX}`),
});

async function summary(ops: OperatorContext) {
  const { reads } = ops.app;
  const counts = await reads.summaryCounts();
  const { devices, channels, settlements } = counts;
  return {
    devices: { enrolled: devices.enrolled, active: devices.enrolled - devices.disabled, disabled: devices.disabled, online: ops.app.mqtt.online.size },
    channels: { ...channels, total: channels.open + channels.closing + channels.closed },
    ledger: viewLedger(await reads.ledgerTotals(), await reads.ledgerFlows(), ops.app.currency),
    settled: { settlements: settlements.count, amount: formatAmount(amountOf(settlements.amount)), fee: formatAmount(amountOf(settlements.fee)) },
    vouchersAccepted: ops.app.service.telemetry.vouchersAccepted,
    atMs: ops.app.clock.nowMs(),
  };
}

const isPresence = (event: OpsEvent): boolean => event.type === 'device.connected' || event.type === 'device.disconnected';

async function activity(ops: OperatorContext, id: string, limit: number) {
  const { reads } = ops.app;
  const row = await reads.device(id);
  if (row === null) throw new MqpayError('DEVICE_UNKNOWN', id);
  const channels = await reads.channelsOf(id, DEVICE_ACTIVITY_CHANNELS_MAX);
  const byNum = new Map(channels.map((channel) => [channel.num, channel]));
  const nums = channels.map((channel) => channel.num);
  const sideOf = (num: bigint) => {
    const channel = byNum.get(num);
    return { channel: toHex(channel?.id ?? new Uint8Array()), role: channel?.payer === id ? 'payer' as const : 'payee' as const };
  };
  return {
    device: viewDevice(row, ops.app.mqtt.online, ops.app.currency),
    channels: { ...(await reads.channelRoleCounts(id)), newest: channels.map((channel) => viewChannel(channel, ops.app.currency)) },
    vouchers: (await reads.recentVouchers(nums, limit)).map((voucher) => ({ ...sideOf(voucher.channel), seq: voucher.seq.toString(), total: formatAmount(voucher.total), acceptedAtMs: voucher.acceptedAtMs })),
    settlements: (await reads.recentSettlementTransfers(nums, limit)).map((transfer) => ({ settlement: transfer.settlement, ...sideOf(transfer.channel), amount: formatAmount(transfer.amount), createdAtMs: transfer.createdAtMs })),
    events: ops.history.ofDevice(id, limit, (event) => !isPresence(event)),
    presence: ops.history.ofDevice(id, limit, isPresence),
    alarms: ops.alarms.snapshot().recent.filter((alarm) => alarm.client === id).slice(0, limit),
    historySinceMs: ops.history.startedAtMs,
  };
}

export const dashboardRoutes: readonly Route[] = [
  defineRoute({
    method: 'GET', path: '/api/summary', operationId: 'summary', tag: 'dashboard', access: 'operator',
    summary: 'Headline totals over the whole ledger (SQL aggregates): devices, channels by state, wallets, escrow, fees, settled',
    params: NONE, query: NONE, body: null,
    responses: [{ status: 200, description: 'the totals', schema: summaryView }],
    handle: async ({ ops }) => json(200, await summary(ops)),
  }),
  defineRoute({
    method: 'GET', path: '/api/alarms', operationId: 'alarms', tag: 'dashboard', access: 'operator',
    summary: 'Attacks and faults since the broker started: counters (voucher rejections by code) and the recent incidents',
    params: NONE, query: NONE, body: null,
    responses: [{ status: 200, description: 'the alarms', schema: alarmsView }],
    handle: ({ ops }) => json(200, ops.alarms.snapshot()),
  }),
  defineRoute({
    method: 'GET', path: '/api/devices/{id}/activity', operationId: 'deviceActivity', tag: 'dashboard', access: 'operator',
    summary: "One device's page: wallet, channels as payer and payee, recent vouchers and settlements, events, online history, alarms (each list bounded)",
    params: z.strictObject({ id: deviceIdText }), query: activityQuery, body: null,
    responses: [{ status: 200, description: 'the activity', schema: deviceActivityView }],
    handle: async ({ ops, params, query }) => json(200, await activity(ops, params.id, query.limit)),
  }),
];
