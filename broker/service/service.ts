// The settlement service: the one place that decides whether a payment happened. It takes
// device messages from a transport (aedes in-process, or an external MQTT cluster) and answers
// through the same transport; it knows nothing of MQTT connections or ACLs. Every write it
// makes goes through one unit of work over the store port.
import type { Amount } from '../../shared/amount.js';
import { MqpayError } from '../../shared/errors.js';
import type { OutboxKind } from '../../shared/topics.js';
import { GroupCommit } from '../../sqlite/group-commit.js';
import type { DeviceRow, FundOutcome, SettlementOutcome, StoreTx } from '../store/port.js';
import { ChannelCache } from './channel-cache.js';
import type { ServiceDeps } from './ports.js';
import { OfferDesk } from './offers.js';
import { payloadOf } from './replies.js';
import { rekeyInTransaction } from './rekey.js';
import { signedByRetiredKey } from './retired-keys.js';
import { RpcHandler } from './rpc/handler.js';
import { beginClosing, closeInTransaction, type CloseResult } from './settlement/closing.js';
import { SettlementScheduler } from './settlement/scheduler.js';
import { StorageHealth, storageStalledError } from './storage-health.js';
import type { Telemetry } from './telemetry.js';
import { TickIngest } from './ticks/tick-ingest.js';
import { UnitOfWork, WriteQueue } from './unit-of-work.js';
import { VoucherIngest } from './vouchers/ingest.js';
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
  /** Enrols a device; `certificateSha256` records the TLS client certificate it must present under mutual TLS. */
  enrol(device: string, publicKey: Uint8Array, certificateSha256?: string): Promise<DeviceRow>;
  setDeviceStatus(device: string, status: 'active' | 'disabled'): Promise<void>;
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
  /** Deletes settled vouchers accepted before `acceptedBeforeMs` that evidence does not need, as one unit of work. */
  pruneVouchers(acceptedBeforeMs: number): Promise<number>;
  /** Deletes expired offers and clears their retained messages (a timer does it too); returns how many. */
  sweepOffers(): Promise<number>;
  /** Commits vouchers and receipts still queued (shutdown, tests). */
  flush(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
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
  const ingest = new VoucherIngest({ deps, cache, telemetry, unitOfWork, verifier: deps.verifier, commits, onCommitted: (channel) => scheduler.onVouchersCommitted([channel]) });
  const rpc = new RpcHandler({ deps, cache, telemetry, unitOfWork, vouchersReceived: (key) => ingest.received(key) });
  const ticks = new TickIngest({ deps, cache, verifier: deps.verifier, commits, onCommitted: (channel) => scheduler.onVouchersCommitted([channel]) });
  const receipts = new ReceiptHandler(deps, cache, deps.verifier, commits);
  const offers = new OfferDesk(deps, unitOfWork);

  return {
    telemetry,
    channelCache: cache,
    get writesQueued() {
      return commits.pending;
    },
    handleOutbox(device, box, payload) {
      switch (box) {
        case 'voucher': return ingest.handle(device, payload);
        case 'rpc': return rpc.handle(device, payload);
        case 'receipt': return receipts.handle(device, payload);
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
      const ctx = { deps, cache, telemetry, work };
      if (options.immediate === true) return closeInTransaction(ctx, row, 'close', 'operator-immediate');
      if (row.state === 'closing') return { channel: row, settlement: null, settled: null, refunded: null };
      return beginClosing(ctx, row, 'operator');
    }),
    closeDue: () => scheduler.closeDue(),
    fund: (device, amount, key) => unitOfWork.commit((work) => work.tx.fund({ device, amount, key, nowMs: deps.clock.nowMs() })),
    enrol: (device, publicKey, certificateSha256) => unitOfWork.commit(async (work) => {
      const row = await work.tx.addDevice(device, publicKey, deps.clock.nowMs());
      if (certificateSha256 !== undefined) await work.tx.recordDeviceCertificate(device, certificateSha256);
      return row;
    }),
    setDeviceStatus: (device, status) => unitOfWork.commit((work) => work.tx.setDeviceStatus(device, status)),
    rekey: (device, publicKey) => unitOfWork.commit(async (work) => {
      const row = await work.tx.device(device);
      if (row === null) throw new MqpayError('DEVICE_UNKNOWN', device);
      return rekeyInTransaction({ deps, cache, telemetry, work }, device, row.publicKey, publicKey, 'operator');
    }),
    device: (id) => store.reads.device(id),
    signedByRetiredKey: (device, signature, message) => signedByRetiredKey(store.reads, device, signature, message),
    acceptConnectToken: (device, timeMs) => unitOfWork.commit((work) => work.tx.useTokenTime(device, timeMs)),
    inboxReady: (device) => receipts.redeliver(device),
    pruneVouchers: (acceptedBeforeMs) => unitOfWork.commit((work) => work.tx.pruneSettledVouchers(acceptedBeforeMs)),
    flush: () => commits.flush(),
    sweepOffers: () => offers.sweep(),
    start: () => {
      scheduler.start();
      offers.start();
    },
    stop: async () => {
      scheduler.stop();
      offers.stop();
      await commits.flush();
      health.close();
    },
  };
}
