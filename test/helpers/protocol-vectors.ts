// The message kinds of the protocol with example payloads, for the language-neutral golden
// vectors in test/vectors/protocol/messages.json (written by scripts/protocol-vectors.ts and
// checked by test/protocol-vectors.test.ts).
import type * as z from 'zod';
import { MqpayError } from '../../shared/errors.js';
import { CERTIFICATE_BYTES } from '../../shared/certificate.js';
import { PAYLOAD_BYTES_MAX } from '../../shared/limits.js';
import { opsEventSchema, opsSettlementSchema } from '../../shared/ops-events.js';
import {
  errorBodySchema, noticeSchema, PROTOCOL_VERSION, offerMessageSchema, offerNoticeSchema, parsePayload, receiptInboxSchema, receiptMessageSchema, RPC_METHODS,
  rpcRequestSchema, rpcResponseSchema, voucherInboxSchema, voucherMessageSchema,
} from '../../shared/schemas.js';

/** bigint -> {"$bigint": "..."} and bytes -> hex, recursively: JSON any language can read. */
export function toNeutral(value: unknown): unknown {
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (Array.isArray(value)) return value.map(toNeutral);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, toNeutral(inner)]));
  return value;
}

interface Invalid {
  readonly name: string;
  readonly json?: unknown;
  readonly raw?: string;
}
interface Kind {
  readonly schema: z.ZodType;
  readonly topic: string;
  readonly valid: readonly unknown[];
  readonly invalid: readonly Invalid[];
}

const v = PROTOCOL_VERSION;
const CH = 'ab'.repeat(32);
const VOUCHER = '00'.repeat(82);
const RECEIPT = 'cd'.repeat(57);
const CERT = 'ce'.repeat(CERTIFICATE_BYTES);
const OFFER = '0f'.repeat(86);
const SIG = '11'.repeat(64);
const ROTATION = '4b'.repeat(114);
// v3.1: channel.redeemChain carries a checkpoint (109 bytes) and a chain link (32).
const CHECKPOINT = '4c'.repeat(109);
const LINK = '6c'.repeat(32);
const KEY = '79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664';
const error = { code: 'VOUCHER_ABOVE_DEPOSIT', message: 'voucher total exceeds the channel deposit', retryable: false };
const errorWithDetail = { ...error, detail: 'total 3 > deposit 2' };
const channel = { channel: CH, payer: 'ev.car-7', payee: 'charger_2', deposit: '50', total: '12.345678', settled: '10', seq: '42', state: 'open', expiresAtSeconds: 1_767_225_600 };
const fresh = { ...channel, total: '0', settled: '0', seq: '0' };
const tooLarge = JSON.stringify({ v, voucher: VOUCHER, signature: SIG, pad: 'x'.repeat(PAYLOAD_BYTES_MAX) });

const request = (method: string, params: unknown) => ({ v, id: 'req-1', method, params });
const ok = (result: unknown) => ({ v, id: 'req-1', ok: true, result });

export const KINDS: Record<string, Kind> = {
  voucherMessage: {
    schema: voucherMessageSchema, topic: 'mqpay/v1/d/{device}/out/voucher',
    valid: [{ v, voucher: VOUCHER, signature: SIG }],
    invalid: [
      { name: 'version 1', json: { v: 1, voucher: VOUCHER, signature: SIG } },
      { name: 'version 2 (refused since v3)', json: { v: 2, voucher: VOUCHER, signature: SIG } },
      { name: 'an unknown field', json: { v, voucher: VOUCHER, signature: SIG, memo: 'x' } },
      { name: 'upper-case hex', json: { v, voucher: VOUCHER, signature: SIG.toUpperCase().replace(/1/g, 'A') } },
      { name: 'voucher one byte short', json: { v, voucher: VOUCHER.slice(2), signature: SIG } },
      { name: 'not JSON', raw: '{"v":2,' },
      { name: 'over the payload limit', raw: tooLarge },
    ],
  },
  receiptMessage: {
    schema: receiptMessageSchema, topic: 'mqpay/v1/d/{device}/out/receipt',
    valid: [{ v, receipt: RECEIPT, signature: SIG }],
    invalid: [{ name: 'missing signature', json: { v, receipt: RECEIPT } }],
  },
  offerMessage: {
    schema: offerMessageSchema, topic: 'mqpay/v1/d/{device}/out/offer',
    valid: [{ v, offer: OFFER, signature: SIG }],
    invalid: [
      { name: 'the v2 offer (unit and price in JSON, unsigned)', json: { v, unit: 'Wh', price: '0.000125' } },
      { name: 'offer one byte short', json: { v, offer: OFFER.slice(2), signature: SIG } },
      { name: 'missing signature', json: { v, offer: OFFER } },
    ],
  },
  offerNotice: {
    schema: offerNoticeSchema, topic: 'mqpay/v1/offers/{device}',
    valid: [{ v, device: 'charger_2', offer: OFFER, signature: SIG, atMs: 1_767_225_600_123 }],
    invalid: [{ name: 'negative time', json: { v, device: 'charger_2', offer: OFFER, signature: SIG, atMs: -1 } }],
  },
  rpcRequest: {
    schema: rpcRequestSchema, topic: 'mqpay/v1/d/{device}/out/rpc',
    valid: [
      request('channel.open', { channel: CH, payee: 'charger_2', deposit: '50', durationSeconds: 3_600 }),
      request('channel.topup', { channel: CH, amount: '18446744073709.551615' }),
      request('channel.close', { channel: CH }),
      request('channel.redeem', { voucher: VOUCHER, signature: SIG }),
      request('channel.redeemChain', { checkpoint: CHECKPOINT, signature: SIG, index: 1_048_576, link: LINK }),
      request('channel.redeemChain', { checkpoint: CHECKPOINT, signature: SIG, index: 0, link: LINK }),
      request('device.rotate', { rotation: ROTATION, signature: SIG, newSignature: SIG }),
      request('channel.restore', { certificate: CERT, signature: SIG, voucher: VOUCHER, voucherSignature: SIG }),
      request('channel.restore', { certificate: CERT, signature: SIG }),
      request('wallet.balance', {}),
      request('channel.list', {}),
    ],
    invalid: [
      { name: 'unknown method', json: request('wallet.drain', {}) },
      { name: 'deposit zero', json: request('channel.open', { channel: CH, payee: 'charger_2', deposit: '0', durationSeconds: 3_600 }) },
      { name: 'deposit past u64', json: request('channel.open', { channel: CH, payee: 'charger_2', deposit: '18446744073709.551616', durationSeconds: 3_600 }) },
      { name: 'params on wallet.balance', json: request('wallet.balance', { all: true }) },
      { name: 'redeem with a short voucher', json: request('channel.redeem', { voucher: VOUCHER.slice(2), signature: SIG }) },
      { name: 'redeemChain past the longest chain', json: request('channel.redeemChain', { checkpoint: CHECKPOINT, signature: SIG, index: 1_048_577, link: LINK }) },
      { name: 'redeemChain with a negative index', json: request('channel.redeemChain', { checkpoint: CHECKPOINT, signature: SIG, index: -1, link: LINK }) },
      { name: 'redeemChain with the index as a string', json: request('channel.redeemChain', { checkpoint: CHECKPOINT, signature: SIG, index: '3', link: LINK }) },
      { name: 'redeemChain with a short link', json: request('channel.redeemChain', { checkpoint: CHECKPOINT, signature: SIG, index: 3, link: LINK.slice(2) }) },
      { name: 'redeemChain without its signature', json: request('channel.redeemChain', { checkpoint: CHECKPOINT, index: 3, link: LINK }) },
      { name: 'rotate without the new key\'s signature', json: request('device.rotate', { rotation: ROTATION, signature: SIG }) },
      { name: 'restore with a voucher but no voucher signature', json: request('channel.restore', { certificate: CERT, signature: SIG, voucher: VOUCHER }) },
      { name: 'request id with a blank', json: { ...request('wallet.balance', {}), id: 'has space' } },
    ],
  },
  rpcResponse: {
    schema: rpcResponseSchema, topic: 'mqpay/v1/d/{device}/in/rpc',
    valid: [ok({ device: 'ev.car-7', balance: '3.25' }), { v, id: 'req-1', ok: false, error: errorWithDetail }, { v, id: '-', ok: false, error: { code: 'MESSAGE_INVALID', message: 'message does not match its schema', detail: 'not JSON', retryable: false } }],
    invalid: [
      { name: 'ok with an error', json: { v, id: 'req-1', ok: true, error } },
      { name: 'an unknown field in the error', json: { v, id: 'req-1', ok: false, error: { ...error, extra: 1 } } },
    ],
  },
  'rpcResult:channel.open': {
    schema: RPC_METHODS['channel.open'].result, topic: 'result of channel.open',
    valid: [{ channel: fresh, certificate: CERT, signature: SIG, servicePublicKey: KEY }],
    invalid: [{ name: 'without the service key', json: { channel: fresh, certificate: CERT, signature: SIG } }],
  },
  'rpcResult:channel.topup': {
    schema: RPC_METHODS['channel.topup'].result, topic: 'result of channel.topup',
    valid: [{ channel, certificate: CERT, signature: SIG }],
    invalid: [{ name: 'an unknown field', json: { channel, certificate: CERT, signature: SIG, servicePublicKey: KEY } }],
  },
  'rpcResult:channel.close': {
    schema: RPC_METHODS['channel.close'].result, topic: 'result of channel.close',
    valid: [
      { channel: { ...channel, state: 'closed' }, settled: '12.345678', refunded: '37.654322' },
      { channel: { ...channel, state: 'closing', closesAtMs: 1_767_226_200_123 } },
    ],
    invalid: [
      { name: 'channel seq negative', json: { channel: { ...channel, seq: '-1' }, settled: '1', refunded: '1' } },
      { name: 'closesAtMs as a string', json: { channel: { ...channel, state: 'closing', closesAtMs: '1767226200123' } } },
    ],
  },
  'rpcResult:channel.redeem': {
    schema: RPC_METHODS['channel.redeem'].result, topic: 'result of channel.redeem',
    valid: [{ channel: { ...channel, state: 'closing', closesAtMs: 1_767_226_200_123 } }, { channel }],
    invalid: [{ name: 'settled on a redemption', json: { channel, settled: '1' } }],
  },
  'rpcResult:channel.redeemChain': {
    schema: RPC_METHODS['channel.redeemChain'].result, topic: 'result of channel.redeemChain (v3.1)',
    valid: [{ channel: { ...channel, state: 'closing', closesAtMs: 1_767_226_200_123 } }, { channel }],
    invalid: [{ name: 'settled on a redemption', json: { channel, settled: '1' } }],
  },
  'rpcResult:device.rotate': {
    schema: RPC_METHODS['device.rotate'].result, topic: 'result of device.rotate',
    valid: [{ device: 'ev.car-7', publicKey: KEY, certificates: 2 }],
    invalid: [{ name: 'certificates as a string', json: { device: 'ev.car-7', publicKey: KEY, certificates: '2' } }],
  },
  'rpcResult:channel.restore': {
    schema: RPC_METHODS['channel.restore'].result, topic: 'result of channel.restore',
    valid: [{ channel, created: true, healed: '12.345678' }, { channel, created: false, healed: '0' }],
    invalid: [{ name: 'without created', json: { channel, healed: '1' } }],
  },
  'rpcResult:wallet.balance': {
    schema: RPC_METHODS['wallet.balance'].result, topic: 'result of wallet.balance',
    valid: [{ device: 'ev.car-7', balance: '0' }],
    invalid: [{ name: 'balance with a sign', json: { device: 'ev.car-7', balance: '-1' } }],
  },
  'rpcResult:channel.list': {
    schema: RPC_METHODS['channel.list'].result, topic: 'result of channel.list',
    valid: [{ channels: [] }, { channels: [channel, fresh] }],
    invalid: [{ name: 'state unknown', json: { channels: [{ ...channel, state: 'paused' }] } }],
  },
  voucherInbox: {
    schema: voucherInboxSchema, topic: 'mqpay/v1/d/{device}/in/voucher',
    valid: [
      { v, type: 'voucher.accepted', channel: CH, seq: '42', total: '12.345678' },
      { v, type: 'voucher.rejected', channel: CH, seq: '9223372036854775807', error: errorWithDetail },
      { v, type: 'voucher.rejected', error: { code: 'RATE_LIMITED', message: 'too many messages from this device; slow down', retryable: true } },
      { v, type: 'voucher', payer: 'ev.car-7', voucher: VOUCHER, signature: SIG },
    ],
    invalid: [
      { name: 'seq 0', json: { v, type: 'voucher.accepted', channel: CH, seq: '0', total: '1' } },
      { name: 'seq 2^63', json: { v, type: 'voucher.accepted', channel: CH, seq: '9223372036854775808', total: '1' } },
      { name: 'total with a leading zero', json: { v, type: 'voucher.accepted', channel: CH, seq: '1', total: '01' } },
      { name: 'unregistered error code', json: { v, type: 'voucher.rejected', error: { ...error, code: 'OOPS' } } },
      { name: 'unknown type', json: { v, type: 'voucher.lost' } },
    ],
  },
  receiptInbox: {
    schema: receiptInboxSchema, topic: 'mqpay/v1/d/{device}/in/receipt',
    valid: [{ v, type: 'receipt', payee: 'charger_2', receipt: RECEIPT, signature: SIG }, { v, type: 'receipt.rejected', error }],
    invalid: [{ name: 'retryable missing', json: { v, type: 'receipt.rejected', error: { code: 'RECEIPT_MISMATCH', message: 'receipt does not match its channel' } } }],
  },
  notice: {
    schema: noticeSchema, topic: 'mqpay/v1/d/{device}/in/notice',
    valid: [
      { v, type: 'channel.certificate', certificate: CERT, signature: SIG },
      { v, type: 'settlement', settlement: 'epoch-1767225600', channel: CH, amount: '2.345678', fee: '0.002345', settledTotal: '12.345678' },
      { v, type: 'channel.closed', channel: CH, settled: '12.345678', refunded: '37.654322' },
      { v, type: 'channel.closing', channel: CH, closesAtMs: 1_767_226_200_123, by: 'payer' },
    ],
    invalid: [
      { name: 'amount as a number', json: { v, type: 'channel.closed', channel: CH, settled: 1, refunded: '0' } },
      { name: 'closing asked by the payee (it settles at once)', json: { v, type: 'channel.closing', channel: CH, closesAtMs: 1, by: 'payee' } },
    ],
  },
  errorBody: {
    schema: errorBodySchema, topic: 'the error of a refusal',
    valid: [error, errorWithDetail],
    invalid: [{ name: 'detail too long', json: { ...error, detail: 'x'.repeat(513) } }],
  },
  opsEvent: {
    schema: opsEventSchema, topic: 'mqpay/v1/ops/events',
    valid: [
      { v, type: 'device.connected', device: 'ev.car-7', atMs: 1_767_225_600_123 },
      { v, type: 'device.enrolled', device: 'ev.car-7', by: 'operator', atMs: 1_767_225_600_123 },
      { v, type: 'wallet.funded', device: 'ev.car-7', amount: '12.5', by: 'operator', atMs: 1_767_225_600_123 },
      { v, type: 'wallet.payout', device: 'ev.car-7', amount: '2.5', by: 'operator', atMs: 1_767_225_600_123 },
      { v, type: 'fees.payout', amount: '0.25', by: 'operator', atMs: 1_767_225_600_123 },
      { v, type: 'wallet.moved', from: 'ev.car-7', to: 'ev.car-8', amount: '7', by: 'operator', atMs: 1_767_225_600_123 },
      { v, type: 'channel.closed', channel: CH, settled: '1', refunded: '49', by: 'operator', atMs: 1_767_225_600_123 },
      { v, type: 'channel.closing', channel: CH, closesAtMs: 1_767_226_200_123, by: 'operator', atMs: 1_767_225_600_123 },
      { v, type: 'device.double-signed', device: 'ev.car-7', channel: CH, seq: '42', atMs: 1_767_225_600_123 },
      { v, type: 'device.rekeyed', device: 'ev.car-7', by: 'device', certificates: 2, atMs: 1_767_225_600_123 },
      { v, type: 'device.rekeyed', device: 'ev.car-7', by: 'operator', certificates: 0, atMs: 1_767_225_600_123 },
      { v, type: 'ledger.healed', channel: CH, device: 'ev.car-7', created: true, amount: '12.345678', seq: '42', atMs: 1_767_225_600_123 },
      { v, type: 'backup.failed', error: 'the backup copy failed its checks', atMs: 1_767_225_600_123 },
      { v, type: 'backup.overdue', lastBackupAtMs: 1_767_225_000_000, ageSeconds: 600, boundSeconds: 120, atMs: 1_767_225_600_123 },
      { v, type: 'backup.overdue', lastBackupAtMs: null, ageSeconds: 600, boundSeconds: 120, atMs: 1_767_225_600_123 },
    ],
    invalid: [
      { name: 'a connect claimed by an operator', json: { v, type: 'device.connected', device: 'ev.car-7', by: 'operator', atMs: 1 } },
      { name: 'a re-key by someone else', json: { v, type: 'device.rekeyed', device: 'ev.car-7', by: 'payee', certificates: 0, atMs: 1 } },
      { name: 'a payout with an amount as a number', json: { v, type: 'wallet.payout', device: 'ev.car-7', amount: 2.5, by: 'operator', atMs: 1 } },
      { name: 'a heal without created', json: { v, type: 'ledger.healed', channel: CH, device: 'ev.car-7', amount: '1', seq: '1', atMs: 1 } },
    ],
  },
  opsSettlement: {
    schema: opsSettlementSchema, topic: 'mqpay/v1/ops/settlements',
    valid: [{
      v, type: 'settlement', id: 'epoch-1767225600', reason: 'epoch', channels: 1, amount: '2.345678', fee: '0.002345', createdAtMs: 1_767_225_600_123,
      lines: [{ account: 'wallet:charger_2', amount: '2.343333' }, { account: 'fees', amount: '0.002345' }],
    }],
    invalid: [{ name: 'unknown reason', json: { v, type: 'settlement', id: 's', reason: 'whim', channels: 0, amount: '0', fee: '0', createdAtMs: 0, lines: [] } }],
  },
};

/** What a receiver makes of a payload: its parsed form, or the error code it answers. */
export function outcomeOf(schema: z.ZodType, payload: string): { parsed: unknown } | { error: string } {
  try {
    return { parsed: toNeutral(parsePayload(schema, payload)) };
  } catch (error) {
    if (error instanceof MqpayError) return { error: error.code };
    throw error;
  }
}

export function describeSchemas(): Record<string, unknown> {
  return Object.fromEntries(Object.entries(KINDS).map(([name, kind]) => [name, {
    topic: kind.topic,
    valid: kind.valid.map((json) => {
      const outcome = outcomeOf(kind.schema, JSON.stringify(json));
      if (!('parsed' in outcome)) throw new Error(`${name}: a valid example is refused (${outcome.error}): ${JSON.stringify(json)}`);
      return { json, parsed: outcome.parsed };
    }),
    invalid: kind.invalid.map((example) => {
      const outcome = outcomeOf(kind.schema, example.raw ?? JSON.stringify(example.json));
      if (!('error' in outcome)) throw new Error(`${name}: an invalid example is accepted: ${example.name}`);
      return { ...example, error: outcome.error };
    }),
  }]));
}
