// The operator streams, read-only for operators: mqpay/v1/ops/events (connects, disconnects and
// admin actions) and mqpay/v1/ops/settlements (one summary per committed settlement). The SSE
// feed of the operator API relays these same messages, named by their `type`. Strict like every
// other message; amounts are decimal strings parsed into bigint micro-units.
import * as z from 'zod';
import { amountSchema, channelIdSchema, deviceIdSchema, PROTOCOL_VERSION, seqSchema, settlementIdSchema } from './schemas.js';

const version = z.literal(PROTOCOL_VERSION);
const atMs = z.number().int().nonnegative();

/** On ops/events: what the broker and its operators did, each with the time it happened. */
export const opsEventSchema = z.discriminatedUnion('type', [
  z.strictObject({ v: version, type: z.enum(['device.connected', 'device.disconnected']), device: deviceIdSchema, atMs }),
  z.strictObject({ v: version, type: z.enum(['device.enrolled', 'device.disabled', 'device.enabled']), device: deviceIdSchema, by: z.literal('operator'), atMs }),
  z.strictObject({ v: version, type: z.literal('wallet.funded'), device: deviceIdSchema, amount: amountSchema, by: z.literal('operator'), atMs }),
  /** Money paid out of a wallet, or of the fees account, to outside (v3). */
  z.strictObject({ v: version, type: z.literal('wallet.payout'), device: deviceIdSchema, amount: amountSchema, by: z.literal('operator'), atMs }),
  z.strictObject({ v: version, type: z.literal('fees.payout'), amount: amountSchema, by: z.literal('operator'), atMs }),
  /** An operator moved money from one device's wallet to another's (v3). */
  z.strictObject({ v: version, type: z.literal('wallet.moved'), from: deviceIdSchema, to: deviceIdSchema, amount: amountSchema, by: z.literal('operator'), atMs }),
  z.strictObject({ v: version, type: z.literal('channel.closed'), channel: channelIdSchema, settled: amountSchema, refunded: amountSchema, by: z.literal('operator'), atMs }),
  /** An operator's close that opened a dispute window (settles at `closesAtMs`). */
  z.strictObject({ v: version, type: z.literal('channel.closing'), channel: channelIdSchema, closesAtMs: atMs, by: z.literal('operator'), atMs }),
  /** A payer signed two totals for one seq: evidence is kept (bounded per channel) and the device flagged. */
  z.strictObject({ v: version, type: z.literal('device.double-signed'), device: deviceIdSchema, channel: channelIdSchema, seq: seqSchema, atMs }),
]);
export type OpsEvent = z.input<typeof opsEventSchema>;
export type OpsEventParsed = z.output<typeof opsEventSchema>;

/** On ops/settlements: one committed settlement, its totals and its per-account lines. */
export const opsSettlementSchema = z.strictObject({
  v: version,
  type: z.literal('settlement'),
  id: settlementIdSchema,
  reason: z.enum(['epoch', 'threshold', 'close', 'expiry', 'manual']),
  channels: z.number().int().nonnegative(),
  amount: amountSchema,
  fee: amountSchema,
  createdAtMs: atMs,
  lines: z.array(z.strictObject({ account: z.string().min(1).max(80), amount: amountSchema })),
});
export type OpsSettlement = z.input<typeof opsSettlementSchema>;
export type OpsSettlementParsed = z.output<typeof opsSettlementSchema>;

/** Either operator stream's message. */
export const opsMessageSchema = z.union([opsEventSchema, opsSettlementSchema]);
export type OpsMessageInput = z.input<typeof opsMessageSchema>;
