// The settlement service: the one place that decides whether a payment happened. It takes
// device messages from a transport (aedes in-process, or later an external MQTT cluster) and
// answers through the same transport; it knows nothing of MQTT connections or ACLs.
import { EventEmitter } from 'node:events';
import { MqpayError } from '../../shared/errors.js';
import { getChannel } from '../store/channels.js';
import type { SettlementResult } from '../store/settle.js';
import type { OutboxKind } from '../../shared/topics.js';
import { ChannelCache } from './channel-cache.js';
import { closeNow, type CloseResult } from './channel-closing.js';
import { handleOffer } from './offer-handler.js';
import type { ServiceDeps } from './ports.js';
import { ReceiptHandler } from './receipt-handler.js';
import { RpcHandler } from './rpc-handler.js';
import type { Effect } from './rpc/context.js';
import { SettlementScheduler } from './settlement-scheduler.js';
import { ServiceStats } from './stats.js';
import { VoucherIngest } from './voucher-ingest.js';

export interface SettlementService {
  readonly stats: ServiceStats;
  /** 'settlement' (SettlementResult, durationMs: number) events for the operator surface. */
  readonly events: EventEmitter;
  /** Handles one device message; resolves once it is durable and answered. */
  handleOutbox(device: string, box: OutboxKind, payload: Uint8Array): Promise<void>;
  settleNow(): SettlementResult | null;
  tick(): SettlementResult | null;
  forceClose(channel: Uint8Array): CloseResult;
  /** A device subscribed to its inbox: send it what it may have missed while offline. */
  inboxReady(device: string): Promise<void>;
  /** Commits vouchers still in the open batch (shutdown, tests). */
  flush(): void;
  start(): void;
  stop(): void;
}

export function createSettlementService(deps: ServiceDeps): SettlementService {
  const stats = new ServiceStats();
  const events = new EventEmitter();
  const cache = new ChannelCache(deps.db);
  const publishEffects = async (effects: readonly Effect[]): Promise<void> => {
    await Promise.all(effects.map((effect) => deps.transport.publish(effect.topic, effect.payload, effect.retain === true ? { retain: true } : {})));
  };
  const onSettled = (result: SettlementResult, durationMs: number): void => {
    stats.settlements += 1;
    events.emit('settlement', result, durationMs);
  };
  let ingest: VoucherIngest | null = null;
  const flushVouchers = (): void => ingest?.flush();
  const scheduler = new SettlementScheduler(deps, cache, flushVouchers, publishEffects, onSettled);
  ingest = new VoucherIngest(deps, cache, stats, (channels) => scheduler.onVouchersCommitted(channels), deps.verifier);
  const voucherIngest = ingest;
  const rpc = new RpcHandler({ deps, cache, flushVouchers, onSettled }, publishEffects, () => voucherIngest.received());
  const receipts = new ReceiptHandler(deps, cache);

  return {
    stats,
    events,
    handleOutbox(device, box, payload) {
      switch (box) {
        case 'voucher': return voucherIngest.handle(device, payload);
        case 'rpc': return rpc.handle(device, payload);
        case 'receipt': return receipts.handle(device, payload);
        case 'offer': return handleOffer(deps, device, payload);
      }
    },
    settleNow: () => scheduler.settle('manual'),
    tick: () => scheduler.tick(),
    forceClose(channel) {
      const row = getChannel(deps.db, channel);
      if (row === null) throw new MqpayError('CHANNEL_UNKNOWN');
      if (row.state !== 'open') throw new MqpayError('CHANNEL_CLOSED');
      return closeNow({ deps, cache, flushVouchers, onSettled }, publishEffects, row, 'close');
    },
    inboxReady: (device) => receipts.redeliver(device),
    flush: flushVouchers,
    start: () => scheduler.start(),
    stop: () => {
      scheduler.stop();
      flushVouchers();
    },
  };
}
