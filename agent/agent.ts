// The device agent: `createAgent` opens an agent home (key, configuration, durable state),
// starts the MQTT link in the background and returns the pay / get-paid API. The agent works
// offline too: it signs against channels it already has, takes vouchers handed over directly,
// and catches up (re-sends vouchers, publishes receipts, finishes opens) when the link is back.
import { markCleanStop } from './store/clean-stop.js';
import type { Amount } from '../shared/amount.js';
import { MqpayError } from '../shared/errors.js';
import type { RandomBytes } from '../shared/ids.js';
import { type AgentContext, type AgentFaults } from './context.js';
import { loadAgentHome } from './home/home.js';
import { lockHome } from './home/home-lock.js';
import { DeviceKeys } from './home/device-keys.js';
import { KeyRotator } from './key-rotation.js';
import { routeInbox } from './link/inbox.js';
import { connackCodeOf, DeviceLink } from './link/link.js';
import { parseBrokerUrls, streamBuilderFor, type LinkTls } from './link/link-stream.js';
import { linkTlsOf } from './home/broker-trust.js';
import { OfferPublisher, readOffer } from './offers.js';
import { payOffer } from './payer/offer-payment.js';
import { Payee } from './payee/payee.js';
import { Payer } from './payer/payer.js';
import { startStream, tickPriceOf } from './payer/stream.js';
import { toAmount } from './amount-input.js';
import type { StreamOptions } from './types.js';
import { silentLogger, systemClock, systemRandom, type AgentLogger, type Clock } from './ports.js';
import { ServiceKeyTrust } from './home/service-key-trust.js';
import { AgentApi, type Agent } from './agent-api.js';
import { StateMaintenance } from './state-maintenance.js';
import { ChannelHealer } from './channel-healer.js';
import { openState } from './store/open-state.js';
import { GroupCommit, sqliteBatch } from '../sqlite/group-commit.js';
import { STREAM_INTERVAL_MS_DEFAULT, CONNECT_WAIT_MS_DEFAULT, PAYMENT_TIMEOUT_MS_DEFAULT, REQUEST_TIMEOUT_MS_DEFAULT, RESEND_INTERVAL_MS_DEFAULT, WRITE_BATCH_ENTRIES_MAX } from './limits.js';

export interface CreateAgentOptions {
  /** The agent's home directory (see `mqpay agent init`). */
  readonly home: string;
  /** mqtt://host:port or mqtts://host:port, or several comma-separated (a cluster's nodes: the link fails over along them); defaults to `brokerUrl` in agent.json. */
  readonly brokerUrl?: string;
  /** Overrides `brokerId` in agent.json (it must match the broker's, it is in the connect token). */
  readonly brokerId?: string;
  readonly clock?: Clock;
  readonly random?: RandomBytes;
  readonly logger?: AgentLogger;
  readonly requestTimeoutMs?: number;
  readonly paymentTimeoutMs?: number;
  readonly resendIntervalMs?: number;
  readonly reconnectPeriodMs?: number;
  readonly reconnectPeriodMaxMs?: number;
  readonly keepaliveSeconds?: number;
  /** How long createAgent waits for the first connection; after it the agent starts offline. */
  readonly connectWaitMs?: number;
  readonly faults?: AgentFaults;
  /**
   * Never connect: sign and accept vouchers with what the home already holds (the offline
   * hand-over of `mqpay agent voucher` and `accept`). Signed vouchers stay pending, re-sent the
   * next time the agent runs online.
   */
  readonly offline?: boolean;
}

/** Never dialled: an offline agent needs no broker URL. */
const OFFLINE_BROKER_URL = 'mqtt://offline.invalid:1883';

function openLink(options: CreateAgentOptions, device: string, secretKey: Uint8Array, brokerId: string, brokerUrl: string, clock: Clock, random: RandomBytes, tls: LinkTls | undefined): DeviceLink {
  return DeviceLink.open({
    url: brokerUrl, device, secretKey, brokerId, clock, random, cleanSession: false,
    ...(tls === undefined ? {} : { tls }),
    requestTimeoutMs: options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT,
    ...(options.reconnectPeriodMs === undefined ? {} : { reconnectPeriodMs: options.reconnectPeriodMs }),
    ...(options.reconnectPeriodMaxMs === undefined ? {} : { reconnectPeriodMaxMs: options.reconnectPeriodMaxMs }),
    ...(options.keepaliveSeconds === undefined ? {} : { keepaliveSeconds: options.keepaliveSeconds }),
    ...(options.offline === true ? { offline: true } : {}),
  });
}

function buildContext(options: CreateAgentOptions): AgentContext {
  const home = loadAgentHome(options.home);
  const brokerUrl = options.brokerUrl ?? home.config.brokerUrl ?? (options.offline === true ? OFFLINE_BROKER_URL : undefined);
  if (brokerUrl === undefined) throw new MqpayError('MESSAGE_INVALID', 'no broker URL: pass one or set brokerUrl in agent.json');
  parseBrokerUrls(brokerUrl); // a bad URL fails here, before the store is opened
  const tls = linkTlsOf(home);
  streamBuilderFor(brokerUrl, tls); // and so does TLS trust configured for a plain-text URL
  const clock = options.clock ?? systemClock;
  const random = options.random ?? systemRandom;
  const logger = options.logger ?? silentLogger;
  const db = openState(home.statePath);
  const trust = new ServiceKeyTrust(db, home.config.servicePublicKey, home.config.currency);
  const device = home.config.device;
  const link = openLink(options, device, home.keys.secretKey, options.brokerId ?? home.config.brokerId, brokerUrl, clock, random, tls);
  const faults = options.faults ?? {};
  const batch = new GroupCommit(sqliteBatch(db, faults.afterDurableCommit), { entriesMax: WRITE_BATCH_ENTRIES_MAX, onStepError: (error) => logger.error({ err: (error as Error)?.message }, 'after-commit step failed') });
  const timing = {
    requestTimeoutMs: options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT,
    paymentTimeoutMs: options.paymentTimeoutMs ?? PAYMENT_TIMEOUT_MS_DEFAULT,
    resendIntervalMs: options.resendIntervalMs ?? RESEND_INTERVAL_MS_DEFAULT,
  };
  return { device, home: home.path, keys: new DeviceKeys(home.keys), config: home.config, db, batch, link, trust, clock, random, logger, timing, faults };
}

function wire(ctx: AgentContext, payer: Payer, payee: Payee, offers: OfferPublisher, rotator: KeyRotator, healer: ChannelHealer): void {
  const { link, logger } = ctx;
  // The broker answered and said no (CONNACK 1-5): not "unreachable", and the log says which.
  let refusal: string | null = null;
  link.on('inbox', (kind, payload: Uint8Array) => routeInbox(ctx, payer, payee, kind, payload));
  link.on('connect', () => {
    refusal = null;
    logger.info({ device: ctx.device }, 'connected');
    // First: a pending key rotation settles which key signs from here on [docs/DESIGN.md rule 12].
    rotator.onConnected();
    payer.onConnected();
    payee.outbox.publishPending();
    // After a restore of the service's ledger, channels it forgot are handed back.
    healer.healInBackground('connect');
    // Vouchers accepted offline reach the service on every (re)connect [docs/DESIGN.md rule 11].
    payee.redeemer.redeemInBackground('connect');
    // A restarted broker serves stored offers again, but one that ran out or never arrived is
    // signed and sent afresh by its seller.
    offers.onConnected();
  });
  link.on('offline', () => {
    if (refusal === null) logger.warn({ device: ctx.device }, 'broker unreachable; reconnecting');
  });
  link.on('link-error', (error: Error) => {
    if (connackCodeOf(error) === null) logger.debug({ err: error.message }, 'link error');
    // With a key rotation pending, a refused key makes the rotator try the other one.
    else rotator.onRefused(error);
  });
  link.on('refused', (error: MqpayError) => {
    refusal = error.message;
    if (error.code !== 'DEVICE_DISABLED') {
      logger.warn({ device: ctx.device, code: error.code, reason: error.message }, 'broker refused the connection (device not enrolled, or its connect token refused); retrying');
      return;
    }
    // Waiting payments will not be accepted while disabled: they hear why now. Their vouchers
    // stay stored (the channels are closing; an enable lets the agent re-send what is left).
    const retrySeconds = Math.round(link.disabledReconnectMs / 1000);
    logger.error({ device: ctx.device, code: error.code, retrySeconds }, `DEVICE_DISABLED: the operator disabled this device; the broker refuses it, and no payment can be made until it is enabled; trying again every ${retrySeconds} s`);
    payer.refuseWaiting(error);
  });
}

/** Opens the agent in `options.home` and connects it. */
export async function createAgent(options: CreateAgentOptions): Promise<Agent> {
  const release = lockHome(options.home);
  let ctx: AgentContext;
  let rotator: KeyRotator;
  try {
    ctx = buildContext(options);
    rotator = new KeyRotator(ctx);
  } catch (error) {
    release();
    throw error;
  }
  const payer = new Payer(ctx);
  const payee = new Payee(ctx);
  const maintenance = new StateMaintenance(ctx);
  const offers = new OfferPublisher(ctx);
  const healer = new ChannelHealer(ctx, () => {
    payer.sender.resendPending(true);
    payee.redeemer.redeemInBackground('healed');
  });
  payer.answers.onChannelForgotten = () => healer.healInBackground('channel unknown');
  wire(ctx, payer, payee, offers, rotator, healer);
  payer.sender.start();
  maintenance.start();
  ctx.logger.info({ device: ctx.device }, 'agent started');
  if (options.offline !== true) await ctx.link.whenConnected(options.connectWaitMs ?? CONNECT_WAIT_MS_DEFAULT);
  const byVoucher = (payee: string, amount: Amount, memo: string | undefined) => payer.pay(payee, amount, memo === undefined ? {} : { memo });
  // Ticks by default: the price of one tick is one interval's amount (at least one micro-unit).
  const streamPay = (payee: string, options: StreamOptions) => {
    if (options.vouchers === true || options.memo !== undefined) return (amount: Amount, memo: string | undefined) => byVoucher(payee, amount, memo);
    const price = tickPriceOf(toAmount(options.amountPerSecond), options.intervalMs ?? STREAM_INTERVAL_MS_DEFAULT);
    return (amount: Amount) => payer.ticks.pay(payee, amount, price);
  };
  return new AgentApi(ctx, payer, payee, {
    stream: (to, streamOptions) => startStream(streamPay(to, streamOptions), ctx.clock, streamOptions),
    offer: (terms) => offers.publish(terms),
    readOffer: (device, timeoutMs) => readOffer(ctx, device, timeoutMs),
    payOffer: (to, options) => payOffer(ctx, payer, to, options),
    rotateKey: () => rotator.rotate(),
    stop: async () => {
      maintenance.stop();
      healer.stop();
      payer.stop(new MqpayError('SERVICE_UNAVAILABLE', 'agent stopped'));
      await ctx.link.close();
      await ctx.batch.close();
      markCleanStop(ctx.db); // the next start need not skip seqs [docs/DESIGN.md rule 5]
      ctx.db.close();
      release();
    },
  });
}
