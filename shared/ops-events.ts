// The operator streams, read-only for operators: mqpay/v1/ops/events (connects, disconnects and
// admin actions) and mqpay/v1/ops/settlements (one summary per committed settlement). The SSE
// feed of the operator API relays these same messages, named by their `type`. Strict like every
// other message; amounts are decimal strings parsed into bigint micro-units.
import * as z from 'zod';
import { ERROR_CODES, type ErrorCode } from './errors.js';
import { amountSchema, channelIdSchema, deviceIdSchema, latestSeqSchema, PROTOCOL_VERSION, seqSchema, settlementIdSchema } from './schemas.js';

const version = z.literal(PROTOCOL_VERSION);
const atMs = z.number().int().nonnegative();

/** On ops/events: what the broker and its operators did, each with the time it happened. */
export const opsEventSchema = z.discriminatedUnion('type', [
  z.strictObject({ v: version, type: z.enum(['device.connected', 'device.disconnected']), device: deviceIdSchema, atMs }),
  z.strictObject({ v: version, type: z.enum(['device.enrolled', 'device.disabled', 'device.enabled']), device: deviceIdSchema, by: z.literal('operator'), atMs }),
  /** A device's key was replaced: by the device itself (`device.rotate`) or by an operator (`device rekey`). */
  z.strictObject({ v: version, type: z.literal('device.rekeyed'), device: deviceIdSchema, by: z.enum(['device', 'operator']), certificates: z.number().int().nonnegative(), atMs }),
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
  /**
   * After a restore from a backup, a device handed back a channel the ledger had forgotten or
   * held behind (channel.restore, or a payee's redemption): `created` when it was re-created,
   * `amount` what its latest total grew by.
   */
  z.strictObject({ v: version, type: z.literal('ledger.healed'), channel: channelIdSchema, device: deviceIdSchema, created: z.boolean(), amount: amountSchema, seq: latestSeqSchema, atMs }),
  /** A scheduled backup failed (the previous one stays the latest). */
  z.strictObject({ v: version, type: z.literal('backup.failed'), error: z.string().min(1).max(512), atMs }),
  /** The latest backup is older than the bound (no backup yet: `lastBackupAtMs` null). */
  z.strictObject({ v: version, type: z.literal('backup.overdue'), lastBackupAtMs: atMs.nullable(), ageSeconds: z.number().int().nonnegative(), boundSeconds: z.number().int().positive(), atMs }),
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

/** What the operator's alarms panel counts: attacks on the broker and faults of the machine. */
export const ALARM_KINDS = ['auth.failure', 'acl.violation', 'voucher.rejected', 'double-sign', 'client.dropped', 'packet.oversized', 'storage.fault', 'storage.locked'] as const;
export type AlarmKind = (typeof ALARM_KINDS)[number];

/** One incident: who (a device, or the client id a refused CONNECT gave), and the code or reason. */
export const opsAlarmSchema = z.strictObject({
  kind: z.enum(ALARM_KINDS),
  /** A device id, or the untrusted client id of a refused CONNECT; null when unknown. */
  client: z.string().max(64).nullable(),
  code: z.enum(ERROR_CODES as unknown as [ErrorCode, ...ErrorCode[]]).nullable(),
  detail: z.string().max(120).nullable(),
  atMs,
});
export type OpsAlarm = z.input<typeof opsAlarmSchema>;

/** Counters since the broker started (voucher rejections by code). */
export const alarmCountsSchema = z.strictObject({
  authFailures: z.number().int().nonnegative(),
  aclViolations: z.number().int().nonnegative(),
  vouchersRejected: z.record(z.string(), z.number().int().nonnegative()),
  doubleSigns: z.number().int().nonnegative(),
  clientsDropped: z.number().int().nonnegative(),
  packetsOversized: z.number().int().nonnegative(),
  storageFaults: z.number().int().nonnegative(),
  storageLocked: z.number().int().nonnegative(),
});
export type AlarmCounts = z.input<typeof alarmCountsSchema>;

/**
 * The operator API's live `alarms` event: at most one per second, only when something happened,
 * with the counters and the incidents since the last one (bounded; `dropped` says how many more).
 */
export const opsAlarmsSchema = z.strictObject({
  v: version,
  type: z.literal('alarms'),
  counts: alarmCountsSchema,
  recent: z.array(opsAlarmSchema),
  dropped: z.number().int().nonnegative(),
  atMs,
});
export type OpsAlarms = z.input<typeof opsAlarmsSchema>;
