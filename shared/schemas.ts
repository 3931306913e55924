// zod schemas for every JSON message on the wire. Strict objects (unknown keys are errors),
// every string bounded. Binary signed objects travel as exact-length hex; amounts as decimal
// strings ("0.000125"); seq as a decimal string because u64 does not fit a JSON number.
// A namespace import, so bundlers can drop the parts of zod that are not used (the agent bundle).
import * as z from 'zod';
import { parseAmount, type Amount } from './amount.js';
import { CERTIFICATE_BYTES } from './certificate.js';
import { CHECKPOINT_BYTES } from './checkpoint.js';
import { ERROR_CODES, ERRORS, MqpayError, type ErrorCode } from './errors.js';
import { isDeviceId, isRequestId } from './ids.js';
import {
  AMOUNT_STRING_LENGTH_MAX,
  CHANNEL_DURATION_S_MAX,
  CHANNELS_PER_DEVICE_MAX,
  CHANNEL_DURATION_S_MIN,
  CHANNEL_ID_BYTES,
  ERROR_TEXT_MAX,
  HASH_CHAIN_LENGTH_MAX,
  HASH_CHAIN_LINK_BYTES,
  PAYLOAD_BYTES_MAX,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  VOUCHER_SEQ_MAX,
} from './limits.js';
import { OFFER_BYTES } from './offer.js';
import { KEY_ROTATION_BYTES } from './key-rotation.js';
import { RECEIPT_BYTES } from './receipt.js';
import { VOUCHER_BYTES } from './voucher.js';

/** Exactly `bytes` bytes as lower-case hex. */
export const hexOf = (bytes: number) => z.string().length(bytes * 2).regex(/^[0-9a-f]*$/, 'lower-case hex');

/**
 * The protocol version: the `v` of every JSON message, device <-> service, offers and operator
 * streams alike. v2 carries an error's `detail` beside the registry `message` and has strict
 * RPC results (docs/PROTOCOL.md "Versions"). The binary layouts keep their own version byte.
 */
export const PROTOCOL_VERSION = 3;
const version = z.literal(PROTOCOL_VERSION);

/** A decimal amount string ("0.000125") parsed into bigint micro-units by shared/amount.ts. */
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
/** A voucher seq: a decimal string parsed into a bigint in [1, 2^63-1]. */
export const seqSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,18}$/, 'seq is a positive decimal integer')
  .transform((text) => BigInt(text))
  .refine((seq) => seq <= VOUCHER_SEQ_MAX, 'seq out of range');
/** A channel's latest accepted seq: 0 before its first voucher, else a voucher seq. */
export const latestSeqSchema = z.union([z.literal('0').transform(() => 0n), seqSchema]);
export const deviceIdSchema = z.string().max(32).refine(isDeviceId, 'not a valid device id');
export const requestIdSchema = z.string().max(64).refine(isRequestId, 'not a valid request id');
export const channelIdSchema = hexOf(CHANNEL_ID_BYTES);
export const signatureSchema = hexOf(SIGNATURE_BYTES);
export const publicKeySchema = hexOf(PUBLIC_KEY_BYTES);
const unixSecondsSchema = z.number().int().nonnegative();
const unixMsSchema = z.number().int().nonnegative();

// ---- errors ----

/**
 * An error on the wire: the registry's code, message and retryable flag, and what this
 * occurrence adds in `detail` (kept apart so a client never has to split a sentence).
 */
export const errorBodySchema = z.strictObject({
  code: z.enum(ERROR_CODES as unknown as [ErrorCode, ...ErrorCode[]]),
  message: z.string().max(ERROR_TEXT_MAX),
  detail: z.string().max(ERROR_TEXT_MAX).optional(),
  retryable: z.boolean(),
});
export type ErrorBody = z.input<typeof errorBodySchema>;

/** The wire form of an error code and its optional detail. */
export function errorBody(code: ErrorCode, detail?: string): ErrorBody {
  const entry = ERRORS[code];
  return detail === undefined
    ? { code, message: entry.message, retryable: entry.retryable }
    : { code, message: entry.message, detail: detail.slice(0, ERROR_TEXT_MAX), retryable: entry.retryable };
}

/** Back from the wire into an MqpayError: the code and its detail, the message is the registry's. */
export function errorFromBody(body: z.output<typeof errorBodySchema>): MqpayError {
  return new MqpayError(body.code, body.detail);
}

// ---- device -> service ----

export const voucherMessageSchema = z.strictObject({
  v: version,
  voucher: hexOf(VOUCHER_BYTES),
  signature: signatureSchema,
});
export type VoucherMessage = z.input<typeof voucherMessageSchema>;

export const receiptMessageSchema = z.strictObject({
  v: version,
  receipt: hexOf(RECEIPT_BYTES),
  signature: signatureSchema,
});
export type ReceiptMessage = z.input<typeof receiptMessageSchema>;

/** A seller's offer: the signed offer bytes (shared/offer.ts) and the seller device's signature. */
export const offerMessageSchema = z.strictObject({
  v: version,
  offer: hexOf(OFFER_BYTES),
  signature: signatureSchema,
});
export type OfferMessage = z.input<typeof offerMessageSchema>;

/**
 * What the service publishes, retained, on mqpay/v1/offers/{device}: the seller's signed offer
 * as it arrived, once checked, and when the service stored it.
 */
export const offerNoticeSchema = z.strictObject({
  v: version,
  device: deviceIdSchema,
  offer: hexOf(OFFER_BYTES),
  signature: signatureSchema,
  atMs: unixMsSchema,
});
export type OfferNotice = z.input<typeof offerNoticeSchema>;

// ---- requests: one table of methods, params and results ----

/** A channel as its two parties see it in RPC results (the operator API has its own view). */
export const rpcChannelSchema = z.strictObject({
  channel: channelIdSchema,
  payer: deviceIdSchema,
  payee: deviceIdSchema,
  deposit: amountSchema,
  total: amountSchema,
  settled: amountSchema,
  seq: latestSeqSchema,
  /** 'closing': a dispute window is open until `closesAtMs` [docs/DESIGN.md rule 11]. */
  state: z.enum(['open', 'closing', 'closed']),
  expiresAtSeconds: unixSecondsSchema,
  closesAtMs: unixMsSchema.optional(),
});

/** The answer to a redemption (of a voucher or a chain): the channel as the service now holds it. */
const redeemedSchema = z.strictObject({ channel: rpcChannelSchema });
export type RpcChannel = z.input<typeof rpcChannelSchema>;

const emptyParams = z.strictObject({});
const certifiedChannel = {
  channel: rpcChannelSchema,
  certificate: hexOf(CERTIFICATE_BYTES),
  signature: signatureSchema,
};

/** Every RPC method: its params and its result, both strict. */
export const RPC_METHODS = {
  'channel.open': {
    params: z.strictObject({
      channel: channelIdSchema,
      payee: deviceIdSchema,
      deposit: positiveAmountSchema,
      durationSeconds: z.number().int().min(CHANNEL_DURATION_S_MIN).max(CHANNEL_DURATION_S_MAX),
    }),
    /** The service key comes with it, for an agent that trusts on first use. */
    result: z.strictObject({ ...certifiedChannel, servicePublicKey: publicKeySchema }),
  },
  'channel.topup': {
    params: z.strictObject({ channel: channelIdSchema, amount: positiveAmountSchema }),
    result: z.strictObject(certifiedChannel),
  },
  /**
   * A payee's close settles at once; a payer's opens the dispute window (the channel comes back
   * 'closing' with `closesAtMs`, and `settled`/`refunded` come with the `channel.closed` notice
   * at the deadline). Repeating a close changes nothing.
   */
  'channel.close': {
    params: z.strictObject({ channel: channelIdSchema }),
    result: z.strictObject({ channel: rpcChannelSchema, settled: amountSchema.optional(), refunded: amountSchema.optional() }),
  },
  /** A payee submits a payer-signed voucher it holds; it becomes the channel's latest when higher. */
  'channel.redeem': {
    params: z.strictObject({ voucher: hexOf(VOUCHER_BYTES), signature: signatureSchema }),
    result: redeemedSchema,
  },
  /**
   * v3.1: a payee submits a hash chain it holds, the payer-signed checkpoint and the
   * highest link it checked (`index` 0: the checkpoint alone, `link` its root); the chain's total
   * at that index becomes the channel's latest when higher, as a redeemed voucher's does.
   */
  'channel.redeemChain': {
    params: z.strictObject({
      checkpoint: hexOf(CHECKPOINT_BYTES), signature: signatureSchema,
      index: z.number().int().min(0).max(HASH_CHAIN_LENGTH_MAX), link: hexOf(HASH_CHAIN_LINK_BYTES),
    }),
    result: redeemedSchema,
  },
  /**
   * The device replaces its key [docs/DESIGN.md rule 12]: a rotation request (shared/key-rotation.ts)
   * signed by the current key and by the new one. Every open channel where the device is payer
   * or payee gets a re-issued certificate (next revision), sent to both parties as a
   * `channel.certificate` notice after this reply.
   */
  'device.rotate': {
    params: z.strictObject({ rotation: hexOf(KEY_ROTATION_BYTES), signature: signatureSchema, newSignature: signatureSchema }),
    result: z.strictObject({ device: deviceIdSchema, publicKey: publicKeySchema, certificates: z.number().int().nonnegative() }),
  },
  /**
   * After the service's ledger was restored from a backup: a party re-establishes a channel
   * from its certificate (signed by the service's own key) and the payer's latest voucher it
   * holds. An unknown channel is re-created with its escrow from the payer's wallet; a known one
   * is brought up to the certificate's deposit and the voucher. `healed` is what the latest
   * total grew by.
   */
  'channel.restore': {
    params: z.strictObject({
      certificate: hexOf(CERTIFICATE_BYTES),
      signature: signatureSchema,
      voucher: hexOf(VOUCHER_BYTES).optional(),
      voucherSignature: signatureSchema.optional(),
    }).refine((params) => (params.voucher === undefined) === (params.voucherSignature === undefined), 'voucher and voucherSignature go together'),
    result: z.strictObject({ channel: rpcChannelSchema, created: z.boolean(), healed: amountSchema }),
  },
  'wallet.balance': {
    params: emptyParams,
    result: z.strictObject({ device: deviceIdSchema, balance: amountSchema }),
  },
  'channel.list': {
    params: emptyParams,
    result: z.strictObject({ channels: z.array(rpcChannelSchema).max(CHANNELS_PER_DEVICE_MAX * 2) }),
  },
} as const;
type Methods = typeof RPC_METHODS;
export type RpcMethod = keyof Methods;
export const RPC_METHOD_NAMES = Object.freeze(Object.keys(RPC_METHODS) as RpcMethod[]);
/** Params as a client writes them (amounts as decimal strings). */
export type RpcParamsInput<M extends RpcMethod> = z.input<Methods[M]['params']>;
export type RpcParams<M extends RpcMethod> = z.output<Methods[M]['params']>;
/** A result as the service writes it (amounts as decimal strings). */
export type RpcResultInput<M extends RpcMethod> = z.input<Methods[M]['result']>;
/** A result as a client reads it (amounts as bigint micro-units). */
export type RpcResult<M extends RpcMethod> = z.output<Methods[M]['result']>;
/** Any method's result as the service writes it. */
export type AnyRpcResultInput = { [M in RpcMethod]: RpcResultInput<M> }[RpcMethod];

const requestOf = <M extends RpcMethod, P extends Methods[M]['params']>(method: M, params: P) =>
  z.strictObject({ v: version, id: requestIdSchema, method: z.literal(method), params });
/** A request on out/rpc, derived from the table: one member per method. */
export const rpcRequestSchema = z.discriminatedUnion('method', [
  requestOf('channel.open', RPC_METHODS['channel.open'].params),
  requestOf('channel.topup', RPC_METHODS['channel.topup'].params),
  requestOf('channel.close', RPC_METHODS['channel.close'].params),
  requestOf('channel.redeem', RPC_METHODS['channel.redeem'].params),
  requestOf('channel.redeemChain', RPC_METHODS['channel.redeemChain'].params),
  requestOf('device.rotate', RPC_METHODS['device.rotate'].params),
  requestOf('channel.restore', RPC_METHODS['channel.restore'].params),
  requestOf('wallet.balance', RPC_METHODS['wallet.balance'].params),
  requestOf('channel.list', RPC_METHODS['channel.list'].params),
]);
export type RpcRequest = z.output<typeof rpcRequestSchema>;
export type RpcRequestInput = z.input<typeof rpcRequestSchema>;

/**
 * The reply envelope on in/rpc. The result is checked against its method's schema by the
 * client that knows which method it asked (the id correlates), see `rpcResultSchema`.
 */
export const rpcResponseSchema = z.union([
  z.strictObject({ v: version, id: requestIdSchema, ok: z.literal(true), result: z.record(z.string(), z.unknown()) }),
  z.strictObject({ v: version, id: requestIdSchema, ok: z.literal(false), error: errorBodySchema }),
]);
export type RpcResponse = z.input<typeof rpcResponseSchema>;

export function rpcResultSchema<M extends RpcMethod>(method: M): Methods[M]['result'] {
  return RPC_METHODS[method].result;
}

// ---- service -> device ----

/** On a device's in/voucher: replies to its own vouchers, and vouchers forwarded to it as payee. */
export const voucherInboxSchema = z.discriminatedUnion('type', [
  z.strictObject({ v: version, type: z.literal('voucher.accepted'), channel: channelIdSchema, seq: seqSchema, total: amountSchema }),
  z.strictObject({
    v: version,
    type: z.literal('voucher.rejected'),
    /** Present when the refused voucher decoded, so the payer knows which one it was. */
    channel: channelIdSchema.optional(),
    seq: seqSchema.optional(),
    error: errorBodySchema,
  }),
  z.strictObject({ v: version, type: z.literal('voucher'), payer: deviceIdSchema, voucher: hexOf(VOUCHER_BYTES), signature: signatureSchema }),
]);
export type VoucherInboxMessage = z.input<typeof voucherInboxSchema>;
export type VoucherInboxParsed = z.output<typeof voucherInboxSchema>;

/** On a device's in/receipt: receipts forwarded to it as payer, and replies to its own receipts. */
export const receiptInboxSchema = z.discriminatedUnion('type', [
  z.strictObject({ v: version, type: z.literal('receipt'), payee: deviceIdSchema, receipt: hexOf(RECEIPT_BYTES), signature: signatureSchema }),
  z.strictObject({ v: version, type: z.literal('receipt.rejected'), error: errorBodySchema }),
]);
export type ReceiptInboxMessage = z.input<typeof receiptInboxSchema>;
export type ReceiptInboxParsed = z.output<typeof receiptInboxSchema>;

/** A settlement id: the service's own name for one settlement run. */
export const settlementIdSchema = z.string().min(1).max(80);

/** On a device's in/notice: channel certificates, settlements and closes that concern it. */
export const noticeSchema = z.discriminatedUnion('type', [
  z.strictObject({ v: version, type: z.literal('channel.certificate'), certificate: hexOf(CERTIFICATE_BYTES), signature: signatureSchema }),
  z.strictObject({
    v: version,
    type: z.literal('settlement'),
    settlement: settlementIdSchema,
    channel: channelIdSchema,
    amount: amountSchema,
    fee: amountSchema,
    settledTotal: amountSchema,
  }),
  z.strictObject({ v: version, type: z.literal('channel.closed'), channel: channelIdSchema, settled: amountSchema, refunded: amountSchema }),
  /** A dispute window opened: the payee redeems any better voucher before `closesAtMs`. */
  z.strictObject({
    v: version,
    type: z.literal('channel.closing'),
    channel: channelIdSchema,
    closesAtMs: unixMsSchema,
    by: z.enum(['payer', 'operator', 'expiry']),
  }),
]);
export type Notice = z.input<typeof noticeSchema>;
export type NoticeParsed = z.output<typeof noticeSchema>;

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
