// zod schemas for every JSON message on the wire. Strict objects (unknown keys are errors),
// every string bounded. Binary signed objects travel as exact-length hex; amounts as decimal
// strings ("0.000125"); seq as a decimal string because u64 does not fit a JSON number.
// A namespace import, so bundlers can drop the parts of zod that are not used (the agent bundle).
import * as z from 'zod';
import { parseAmount, type Amount } from './amount.js';
import { CERTIFICATE_BYTES } from './certificate.js';
import { ERROR_CODES, MqpayError } from './errors.js';
import { isDeviceId, isRequestId } from './ids.js';
import {
  AMOUNT_STRING_LENGTH_MAX,
  CHANNEL_DURATION_S_MAX,
  CHANNEL_DURATION_S_MIN,
  CHANNEL_ID_BYTES,
  PAYLOAD_BYTES_MAX,
  SIGNATURE_BYTES,
  VOUCHER_SEQ_MAX,
} from './limits.js';
import { RECEIPT_BYTES } from './receipt.js';
import { VOUCHER_BYTES } from './voucher.js';

/** Exactly `bytes` bytes as lower-case hex. */
export const hexOf = (bytes: number) => z.string().length(bytes * 2).regex(/^[0-9a-f]*$/, 'lower-case hex');

export const amountSchema = z
  .string()
  .max(AMOUNT_STRING_LENGTH_MAX)
  .transform((text, ctx): Amount => {
    try {
      return parseAmount(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
/** Deposits and top-ups: moving nothing is a mistake, refused before any work is done. */
export const positiveAmountSchema = amountSchema.refine((amount) => amount > 0n, 'amount must be greater than zero');
export const seqSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,18}$/, 'seq is a positive decimal integer')
  .transform((text) => BigInt(text))
  .refine((seq) => seq <= VOUCHER_SEQ_MAX, 'seq out of range');
export const deviceIdSchema = z.string().max(32).refine(isDeviceId, 'not a valid device id');
export const requestIdSchema = z.string().max(64).refine(isRequestId, 'not a valid request id');
export const channelIdSchema = hexOf(CHANNEL_ID_BYTES);
export const signatureSchema = hexOf(SIGNATURE_BYTES);
const version = z.literal(1);

// ---- device -> service ----

export const voucherMessageSchema = z.strictObject({
  v: version,
  voucher: hexOf(VOUCHER_BYTES),
  signature: signatureSchema,
});

export const receiptMessageSchema = z.strictObject({
  v: version,
  receipt: hexOf(RECEIPT_BYTES),
  signature: signatureSchema,
});

const offerUnitSchema = z.string().min(1).max(16).regex(/^[a-zA-Z0-9_.-]+$/);
export const offerMessageSchema = z.strictObject({
  v: version,
  unit: offerUnitSchema,
  price: amountSchema,
});

/** What the service publishes, retained, on mqpay/v1/offers/{device}: a checked offer. */
export const offerNoticeSchema = z.strictObject({
  v: version,
  device: deviceIdSchema,
  unit: offerUnitSchema,
  price: amountSchema,
  atMs: z.number().int().nonnegative(),
});
export type OfferNotice = z.input<typeof offerNoticeSchema>;

const emptyParams = z.strictObject({});
export const rpcRequestSchema = z.discriminatedUnion('method', [
  z.strictObject({
    v: version,
    id: requestIdSchema,
    method: z.literal('channel.open'),
    params: z.strictObject({
      channel: channelIdSchema,
      payee: deviceIdSchema,
      deposit: positiveAmountSchema,
      durationSeconds: z.number().int().min(CHANNEL_DURATION_S_MIN).max(CHANNEL_DURATION_S_MAX),
    }),
  }),
  z.strictObject({
    v: version,
    id: requestIdSchema,
    method: z.literal('channel.topup'),
    params: z.strictObject({ channel: channelIdSchema, amount: positiveAmountSchema }),
  }),
  z.strictObject({
    v: version,
    id: requestIdSchema,
    method: z.literal('channel.close'),
    params: z.strictObject({ channel: channelIdSchema }),
  }),
  z.strictObject({ v: version, id: requestIdSchema, method: z.literal('wallet.balance'), params: emptyParams }),
  z.strictObject({ v: version, id: requestIdSchema, method: z.literal('channel.list'), params: emptyParams }),
]);
export type RpcRequest = z.output<typeof rpcRequestSchema>;
export type RpcMethod = RpcRequest['method'];

// ---- service -> device ----

export const errorBodySchema = z.strictObject({
  code: z.enum(ERROR_CODES as unknown as [string, ...string[]]),
  message: z.string().max(512),
  retryable: z.boolean(),
});
export type ErrorBody = z.output<typeof errorBodySchema>;

export const channelViewSchema = z.strictObject({
  channel: channelIdSchema,
  payer: deviceIdSchema,
  payee: deviceIdSchema,
  deposit: z.string(),
  total: z.string(),
  settled: z.string(),
  seq: z.string(),
  state: z.enum(['open', 'closed']),
  expiresAtSeconds: z.number().int(),
});
export type ChannelView = z.input<typeof channelViewSchema>;

export const rpcResponseSchema = z.union([
  z.strictObject({ v: version, id: requestIdSchema, ok: z.literal(true), result: z.record(z.string(), z.unknown()) }),
  z.strictObject({ v: version, id: requestIdSchema, ok: z.literal(false), error: errorBodySchema }),
]);
export type RpcResponse = z.input<typeof rpcResponseSchema>;

/** On a device's in/voucher: replies to its own vouchers, and vouchers forwarded to it as payee. */
export const voucherInboxSchema = z.discriminatedUnion('type', [
  z.strictObject({ v: version, type: z.literal('voucher.accepted'), channel: channelIdSchema, seq: z.string(), total: z.string() }),
  z.strictObject({
    v: version,
    type: z.literal('voucher.rejected'),
    channel: channelIdSchema.optional(),
    seq: z.string().optional(),
    error: errorBodySchema,
  }),
  z.strictObject({ v: version, type: z.literal('voucher'), payer: deviceIdSchema, voucher: hexOf(VOUCHER_BYTES), signature: signatureSchema }),
]);
export type VoucherInboxMessage = z.input<typeof voucherInboxSchema>;

/** On a device's in/receipt: receipts forwarded to it as payer, and replies to its own receipts. */
export const receiptInboxSchema = z.discriminatedUnion('type', [
  z.strictObject({ v: version, type: z.literal('receipt'), payee: deviceIdSchema, receipt: hexOf(RECEIPT_BYTES), signature: signatureSchema }),
  z.strictObject({ v: version, type: z.literal('receipt.rejected'), error: errorBodySchema }),
]);
export type ReceiptInboxMessage = z.input<typeof receiptInboxSchema>;

export const settlementLineSchema = z.strictObject({ account: z.string().max(80), amount: z.string() });

/** On a device's in/notice: channel certificates, settlements and closes that concern it. */
export const noticeSchema = z.discriminatedUnion('type', [
  z.strictObject({ v: version, type: z.literal('channel.certificate'), certificate: hexOf(CERTIFICATE_BYTES), signature: signatureSchema }),
  z.strictObject({
    v: version,
    type: z.literal('settlement'),
    settlement: z.string().max(80),
    channel: channelIdSchema,
    amount: z.string(),
    fee: z.string(),
    settledTotal: z.string(),
  }),
  z.strictObject({ v: version, type: z.literal('channel.closed'), channel: channelIdSchema, settled: z.string(), refunded: z.string() }),
]);
export type Notice = z.input<typeof noticeSchema>;

/**
 * Parses one MQTT payload as JSON against a schema: size first, then syntax, then shape.
 * Throws MESSAGE_TOO_LARGE or MESSAGE_INVALID with the first problem found.
 */
export function parsePayload<S extends z.ZodType>(schema: S, payload: Uint8Array | string): z.output<S> {
  const size_bytes = typeof payload === 'string' ? new TextEncoder().encode(payload).length : payload.length;
  if (size_bytes > PAYLOAD_BYTES_MAX) throw new MqpayError('MESSAGE_TOO_LARGE', `${size_bytes} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(typeof payload === 'string' ? payload : new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    throw new MqpayError('MESSAGE_INVALID', 'not JSON');
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    throw new MqpayError('MESSAGE_INVALID', `${path === '' ? '' : `${path}: `}${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

/** Encodes a message for the wire; the counterpart of parsePayload. */
export function encodePayload(message: object): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(message));
}
