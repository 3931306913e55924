// The JSON shapes of the dashboard's own routes (routes-dashboard.ts): the headline totals, the
// alarms, and one device's activity. Zod schemas like view-schemas.ts: the OpenAPI document
// shows them and the tests parse real answers with them.
import * as z from 'zod';
import { alarmCountsSchema, opsAlarmSchema, opsEventSchema } from '../../../shared/ops-events.js';
import { amountText, channelView, deviceView, ledgerView } from './view-schemas.js';

export const summaryView = z.strictObject({
  devices: z.strictObject({
    enrolled: z.number().int(), active: z.number().int(), disabled: z.number().int(),
    online: z.number().int().describe('connected now'),
  }),
  channels: z.strictObject({
    open: z.number().int().describe('open and not closing'), closing: z.number().int().describe('in a dispute window'),
    closed: z.number().int(), total: z.number().int(),
  }),
  ledger: ledgerView,
  settled: z.strictObject({ settlements: z.number().int(), amount: amountText.describe('moved out of escrow, fees included'), fee: amountText }),
  vouchersAccepted: z.number().int().describe('since the broker started'),
  atMs: z.number().int(),
});

export const alarmsView = z.strictObject({
  counts: alarmCountsSchema,
  recent: z.array(opsAlarmSchema).describe('newest first, bounded'),
});

export const deviceVoucherView = z.strictObject({
  channel: z.string().describe('channel id, 64 hex characters'),
  role: z.enum(['payer', 'payee']).describe("the device's side of the channel"),
  seq: z.string(),
  total: amountText,
  acceptedAtMs: z.number().int(),
});

export const deviceSettlementView = z.strictObject({
  settlement: z.string(),
  channel: z.string(),
  role: z.enum(['payer', 'payee']),
  amount: amountText.describe('paid to the payee in this settlement (fee excluded)'),
  createdAtMs: z.number().int(),
});

export const deviceActivityView = z.strictObject({
  device: deviceView,
  channels: z.strictObject({
    asPayer: z.number().int().describe('every channel the device pays on'),
    asPayee: z.number().int().describe('every channel the device is paid on'),
    newest: z.array(channelView).describe('its newest channels, both roles, bounded'),
  }),
  vouchers: z.array(deviceVoucherView).describe('newest first, over its newest channels'),
  settlements: z.array(deviceSettlementView).describe('newest first, over its newest channels'),
  events: z.array(opsEventSchema).describe('operator events naming the device, newest first (since the broker started)'),
  presence: z.array(opsEventSchema).describe('connects and disconnects, newest first (since the broker started)'),
  alarms: z.array(opsAlarmSchema).describe('recent alarms naming the device, newest first'),
  historySinceMs: z.number().int().describe('events, presence and alarms are kept in memory since this time'),
});

export type SummaryView = z.input<typeof summaryView>;
export type AlarmsView = z.input<typeof alarmsView>;
export type DeviceActivityView = z.input<typeof deviceActivityView>;
