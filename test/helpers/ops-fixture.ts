// Fixtures for the operator-surface tests: a real broker with the operator HTTP API on an
// ephemeral port over a real SQLite file, an HTTP helper that keeps status, headers and body,
// and a payer streaming signed vouchers over a real MQTT channel.
import type { DeviceLink } from '../../agent/link/link.js';
import { operatorHttpHandler } from '../../broker/operator/http/operator-api.js';
import type { BrokerConfigInput } from '../../broker/config.js';
import { parseAmount, type Amount } from '../../shared/amount.js';
import { newChannelId } from '../../shared/ids.js';
import { toHex } from '../../shared/hex.js';
import type { KeyPair } from '../../shared/keys.js';
import { OPERATOR_TOKEN, payVoucher, random, signedVoucher, startBroker, type RunningBroker, type StartBrokerOptions } from './broker-fixture.js';

export interface ApiAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed body when it was JSON (or problem+json); otherwise undefined. */
  readonly json: any;
}

export interface ApiOptions {
  /** Bearer token; null sends none. Default: the operator token. */
  readonly token?: string | null;
  readonly body?: unknown;
  /** Sent as is (with the given content type), instead of JSON. */
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
}

export interface OpsBroker extends RunningBroker {
  readonly base: string;
  api(method: string, path: string, options?: ApiOptions): Promise<ApiAnswer>;
}

export async function startOpsBroker(overrides: Partial<BrokerConfigInput> = {}, options: Omit<StartBrokerOptions, 'httpHandler'> = {}): Promise<OpsBroker> {
  const broker = await startBroker({ httpPort: 0, ...overrides }, undefined, { ...options, httpHandler: operatorHttpHandler() });
  const base = `http://127.0.0.1:${broker.httpPort ?? 0}`;
  return Object.assign(broker, { base, api: (method: string, path: string, options: ApiOptions = {}) => callApi(base, method, path, options) });
}

export async function callApi(base: string, method: string, path: string, options: ApiOptions = {}): Promise<ApiAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? OPERATOR_TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  return { status: response.status, headers: response.headers, text, json: /json/.test(type) && text !== '' ? JSON.parse(text) : undefined };
}

export interface PayingChannel {
  readonly payerKeys: KeyPair;
  readonly payer: DeviceLink;
  readonly payee: DeviceLink;
  readonly channelId: Uint8Array;
  readonly channelHex: string;
  /** Pays vouchers seq+1.. up to `count` more, each `step` above the last total; resolves when all are accepted. */
  pay(count: number): Promise<void>;
  /** The latest accepted total. */
  total(): Amount;
}

/** Enrols (if needed) and connects payer and payee, opens a channel, and returns a way to pay on it. */
export async function openPayingChannel(broker: RunningBroker, names: { payer: string; payee: string }, money: { funds: string; deposit: string; step: string }): Promise<PayingChannel> {
  const payerKeys: KeyPair = broker.enrol(names.payer, money.funds);
  const payeeKeys: KeyPair = broker.enrol(names.payee);
  const payer = await broker.link(names.payer, payerKeys);
  const payee = await broker.link(names.payee, payeeKeys);
  const channelId = newChannelId(random);
  await payer.request('channel.open', { channel: toHex(channelId), payee: names.payee, deposit: money.deposit, durationSeconds: 3600 });
  const step = parseAmount(money.step);
  let seq = 0n;
  return {
    payerKeys, payer, payee, channelId, channelHex: toHex(channelId),
    async pay(count) {
      const replies: Promise<Record<string, unknown>>[] = [];
      for (let i = 0; i < count; i++) {
        seq += 1n;
        replies.push(payVoucher(payer, signedVoucher(payerKeys, { channelId, seq, total: (step * seq) as Amount })));
      }
      const verdicts = await Promise.all(replies);
      const refused = verdicts.filter((verdict) => verdict.type !== 'voucher.accepted');
      if (refused.length > 0) throw new Error(`vouchers refused: ${JSON.stringify(refused[0])}`);
    },
    total: () => (step * seq) as Amount,
  };
}
