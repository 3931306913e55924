// The settlement service: the one place that decides whether a payment happened. It takes
// device messages from a transport (aedes in-process, or an external MQTT cluster) and answers
// through the same transport; it knows nothing of MQTT connections or ACLs. Every write it
// makes goes through one unit of work over the store port.
import type { Amount } from '../../shared/amount.js';
import { MqpayError } from '../../shared/errors.js';
import type { OutboxKind } from '../../shared/topics.js';
import { GroupCommit } from '../../sqlite/group-commit.js';
import { CHANNELS_PER_DEVICE_MAX } from '../../shared/limits.js';
import type { ChannelRow, DeviceLimits, DeviceRow, FundOutcome, OutflowOutcome, SettlementOutcome, StoreTx } from '../store/port.js';
import { ChannelCache } from './channel-cache.js';
import type { ServiceDeps } from './ports.js';
import { OfferDesk } from './offers.js';
import { payloadOf } from './replies.js';
import { rekeyInTransaction } from './rekey.js';
import { signedByRetiredKey } from './retired-keys.js';
import { RpcHandler } from './rpc/handler.js';
import { beginClosing, closeInTransaction, type CloseResult } from './settlement/closing.js';
import type { RpcContext } from './rpc/context.js';
import { SettlementScheduler } from './settlement/scheduler.js';
import { effectiveLimits, limitOrderProblem, SpendingGuard, type LimitDefaults } from './spending/spending-guard.js';
import { StorageHealth, storageStalledError } from './storage-health.js';
import type { Telemetry } from './telemetry.js';
import { TickIngest } from './ticks/tick-ingest.js';
import { redeliverChains } from './ticks/tick-redelivery.js';
import type { Work } from './unit-of-work.js';
import { UnitOfWork, WriteQueue } from './unit-of-work.js';
import { VoucherIngest } from './vouchers/ingest.js';
import { DeprecatedForms } from './wire-form.js';
import { ReceiptHandler } from './vouchers/receipts.js';

export interface SettlementService {
  readonly telemetry: Telemetry;
  /** The voucher hot path's channel cache, as counts (operators, tests). */
  readonly channelCache: { readonly size: number; readonly evictions: number };
  /** Vouchers and receipts queued for the next group commit (not counting one being committed). */
  readonly writesQueued: number;
  /** Handles one device message; resolves once it is durable and answered. */
  handleOutbox(device: string, box: OutboxKind, payload: Uint8Array): Promise<void>;
  settleNow(): Promise<SettlementOutcome>;
  /** One epoch: closes expired channels, then settles every changed one. */
  tick(): Promise<SettlementOutcome>;
  /**
   * An operator's close: opens the dispute window (idempotent while closing), or with
   * `immediate` settles at once, recorded as 'operator-immediate' [docs/DESIGN.md rule 11].
   */
  forceClose(channel: Uint8Array, options?: { immediate?: boolean }): Promise<CloseResult>;
  /** Settles the channels whose dispute window ended (the tick does it too). */
  closeDue(): Promise<number>;
  /** Funds a wallet from outside; `key` is the caller's idempotency key (IDEMPOTENCY_CONFLICT if reused for another funding). */
  fund(device: string, amount: Amount, key: string): Promise<FundOutcome>;
  /** Pays out of an account ('wallet:{device}' or 'fees') to external, once per key [docs/DESIGN.md rule 13]. */
  payout(from: string, amount: Amount, key: string): Promise<OutflowOutcome>;
  /** Moves from one device's wallet to another's, once per key (an operator's recovery). */
  move(fromDevice: string, toDevice: string, amount: Amount, key: string): Promise<OutflowOutcome>;
  /** Enrols a device; `certificateSha256` records the TLS client certificate it must present under mutual TLS. */
  enrol(device: string, publicKey: Uint8Array, certificateSha256?: string): Promise<DeviceRow>;
  /**
   * Enables or disables a device. Disabling, in the same unit of work, opens the dispute window
   * of every open channel where it pays (recorded as the operator's close) [docs/DESIGN.md rule
   * 12]; `closing` lists them as they now are.
   */
  setDeviceStatus(device: string, status: 'active' | 'disabled'): Promise<{ readonly closing: readonly ChannelRow[] }>;
  /** The broker-wide defaults of server-side limits (--device-max-*). */
  readonly limitDefaults: LimitDefaults;
  /** A device's own server-side limits and those in force (own over the broker's defaults). */
  deviceLimits(device: string): Promise<{ readonly own: DeviceLimits; readonly effective: DeviceLimits }>;
  /** Replaces a device's own limits (all null: the defaults apply); MESSAGE_INVALID if they contradict each other. */
  setDeviceLimits(device: string, limits: DeviceLimits): Promise<void>;
  /**
   * An operator's re-key of a device (a lost one): as `device.rotate` without the old key's
   * signature. Returns how many certificates were re-issued [docs/DESIGN.md rule 12].
   */
  rekey(device: string, publicKey: Uint8Array): Promise<number>;
  device(id: string): Promise<DeviceRow | null>;
  /** Whether `signature` over `message` was made with one of the device's retired keys (KEY_ROTATED). */
  signedByRetiredKey(device: string, signature: Uint8Array, message: Uint8Array): Promise<boolean>;
  /** Records a verified connect token's time; false if it is not later than the last one (a replay). */
  acceptConnectToken(device: string, timeMs: bigint): Promise<boolean>;
  /** A device subscribed to its inbox: send it what it may have missed while offline. */
  inboxReady(device: string): Promise<void>;
  /** Publishes a seller's current offer again (a device subscribed where no retained copy is kept); false if it has none. */
  serveOffer(seller: string): Promise<boolean>;
  /** Deletes settled vouchers accepted before `acceptedBeforeMs` that evidence does not need, as one unit of work. */
  pruneVouchers(acceptedBeforeMs: number): Promise<number>;
  /** Deletes expired offers and clears their retained messages (a timer does it too); returns how many. */
  sweepOffers(): Promise<number>;
  /** Commits vouchers and receipts still queued (shutdown, tests). */
  flush(): Promise<void>;
  /**
   * Starts the timers: epochs and the offer sweep. `settlement: false` starts none of them, for a
   * cluster worker that does not hold the settlement lead (one leader settles) [issue 15].
   */
  start(roles?: { readonly settlement: boolean }): void;
  /** Takes (true) or gives up (false) the settlement lead: epochs, early settlement and the offer sweep [docs/DESIGN.md rule 16]. */
  lead(leading: boolean): void;
  stop(): Promise<void>;
}

/** Disables a device and opens the dispute window of each open channel where it pays. */
async function disableInTransaction(ctx: RpcContext, device: string): Promise<ChannelRow[]> {
  await ctx.work.tx.setDeviceStatus(device, 'disabled');
  // Channels per payer are bounded (CHANNELS_PER_DEVICE_MAX, closing ones included), so one read lists them all.
  const open = await ctx.work.tx.openChannelsOfPayer(device, CHANNELS_PER_DEVICE_MAX);
  const closing: ChannelRow[] = [];
  for (const row of open) closing.push((await beginClosing(ctx, row, 'operator')).channel);
  return closing;
}

export function createSettlementService(deps: ServiceDeps): SettlementService {
  const { store, telemetry, logger } = deps;
  const queue = new WriteQueue();
  const commits = new GroupCommit<StoreTx>((writes) => queue.run(async () => {
    const startedMs = performance.now();
    try {
      return await store.batch(writes as readonly ((tx: StoreTx) => Promise<unknown>)[]);
    } finally {
      telemetry.emit({ kind: 'commit', what: 'batch', writes: writes.length, durationMs: performance.now() - startedMs });
    }
  }), {
    entriesMax: deps.options.voucherBatchMax,
    onStepError: (error) => logger.error({ err: error }, 'after-commit step of a batched write failed'),
  });
  // The storage alarm: new vouchers and receipts are refused, queued ones withdrawn, until it clears.
  const health = new StorageHealth(telemetry);
  health.onChange((stalled) => (stalled ? commits.refuse(storageStalledError()) : commits.accept()));
  const unitOfWork = new UnitOfWork(store, queue, commits, deps.transport, logger, telemetry, health);
  const cache = new ChannelCache(store.reads, deps.options.channelCacheEntriesMax);
  const scheduler = new SettlementScheduler(deps, cache, telemetry, unitOfWork);
  const spending = new SpendingGuard(store.reads, deps.options.deviceLimitDefaults);
  const contextOf = (work: Work): RpcContext => ({ deps, cache, telemetry, work });
  const ingest = new VoucherIngest({ deps, cache, telemetry, unitOfWork, verifier: deps.verifier, commits, spending, onCommitted: (channel) => scheduler.onVouchersCommitted([channel]) });
  const rpc = new RpcHandler({ deps, cache, telemetry, unitOfWork, vouchersReceived: (key) => ingest.received(key) });
  const ticks = new TickIngest({ deps, cache, verifier: deps.verifier, commits, spending, onCommitted: (channel) => scheduler.onVouchersCommitted([channel]) });
  const receipts = new ReceiptHandler(deps, cache, deps.verifier, commits);
  const deprecatedForms = new DeprecatedForms(telemetry, deps.logger);
  const offers = new OfferDesk(deps, unitOfWork);

  const lead = (leading: boolean): void => {
    if (leading) {
      scheduler.start();
      offers.start();
    } else {
      scheduler.stop();
      offers.stop();
    }
  };

  return {
    telemetry,
    channelCache: cache,
    get writesQueued() {
      return commits.pending;
    },
    handleOutbox(device, box, payload) {
      switch (box) {
        case 'voucher-bin': return ingest.handle(device, payload, 'binary');
        case 'receipt-bin': return receipts.handle(device, payload, 'binary');
        case 'voucher': deprecatedForms.note(device, box); return ingest.handle(device, payload, 'json');
        case 'receipt': deprecatedForms.note(device, box); return receipts.handle(device, payload, 'json');
        case 'rpc': return rpc.handle(device, payload);
        case 'offer': return offers.handle(device, payload);
        case 'tick': return ticks.handle(device, payload);
      }
    },
    settleNow: () => scheduler.settle('manual'),
    tick: () => scheduler.tick(),
    forceClose: (channel, options = {}) => unitOfWork.commit(async (work) => {
      const row = await work.tx.channel(channel);
      if (row === null) throw new MqpayError('CHANNEL_UNKNOWN');
      if (row.state === 'closed') throw new MqpayError('CHANNEL_CLOSED');
      const ctx = contextOf(work);
      if (options.immediate === true) return closeInTransaction(ctx, row, 'close', 'operator-immediate');
      if (row.state === 'closing') return { channel: row, settlement: null, settled: null, refunded: null };
      return beginClosing(ctx, row, 'operator');
    }),
    closeDue: () => scheduler.closeDue(),
    fund: (device, amount, key) => unitOfWork.commit((work) => work.tx.fund({ device, amount, key, nowMs: deps.clock.nowMs() })),
    payout: (from, amount, key) => unitOfWork.commit((work) => work.tx.payout({ from, amount, key, nowMs: deps.clock.nowMs() })),
    move: (fromDevice, toDevice, amount, key) => unitOfWork.commit((work) => work.tx.move({ fromDevice, toDevice, amount, key, nowMs: deps.clock.nowMs() })),
    enrol: (device, publicKey, certificateSha256) => unitOfWork.commit(async (work) => {
      const row = await work.tx.addDevice(device, publicKey, deps.clock.nowMs());
      if (certificateSha256 !== undefined) await work.tx.recordDeviceCertificate(device, certificateSha256);
      return row;
    }),
    setDeviceStatus: (device, status) => unitOfWork.commit(async (work) => {
      if (status === 'disabled') return { closing: await disableInTransaction(contextOf(work), device) };
      await work.tx.setDeviceStatus(device, status);
      return { closing: [] };
    }),
    limitDefaults: deps.options.deviceLimitDefaults,
    deviceLimits: async (device) => {
      if ((await store.reads.device(device)) === null) throw new MqpayError('DEVICE_UNKNOWN', device);
      const own = await store.reads.deviceLimits(device);
      return { own, effective: effectiveLimits(own, deps.options.deviceLimitDefaults) };
    },
    setDeviceLimits: (device, limits) => {
      const problem = limitOrderProblem(limits);
      if (problem !== null) return Promise.reject(new MqpayError('MESSAGE_INVALID', problem));
      return unitOfWork.commit((work) => work.tx.setDeviceLimits(device, limits, deps.clock.nowMs()));
    },
    rekey: (device, publicKey) => unitOfWork.commit(async (work) => {
      const row = await work.tx.device(device);
      if (row === null) throw new MqpayError('DEVICE_UNKNOWN', device);
      return rekeyInTransaction({ deps, cache, telemetry, work }, device, row.publicKey, publicKey, 'operator');
    }),
    device: (id) => store.reads.device(id),
    signedByRetiredKey: (device, signature, message) => signedByRetiredKey(store.reads, device, signature, message),
    acceptConnectToken: (device, timeMs) => unitOfWork.commit((work) => work.tx.useTokenTime(device, timeMs)),
    inboxReady: async (device) => {
      await Promise.all([receipts.redeliver(device), redeliverChains(deps, commits, device)]);
    },
    pruneVouchers: (acceptedBeforeMs) => unitOfWork.commit((work) => work.tx.pruneSettledVouchers(acceptedBeforeMs)),
    flush: () => commits.flush(),
    sweepOffers: () => offers.sweep(),
    serveOffer: (seller) => offers.serve(seller),
    start: (roles = { settlement: true }) => lead(roles.settlement),
    lead,
    stop: async () => {
      scheduler.stop();
      offers.stop();
      await commits.flush();
      health.close();
    },
  };
}
