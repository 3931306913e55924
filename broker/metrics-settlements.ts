// Settlement metrics. Count, size and amount come from the operator stream
// (mqpay/v1/ops/settlements), which carries every settlement: epochs, thresholds, manual runs,
// expiries and closes by devices or operators. Duration comes from the service's 'settlement'
// event, which times the settling transaction; a close requested by a device settles inside its
// RPC transaction and is not timed.
import { Counter, Histogram, type Registry } from 'prom-client';
import { parseAmount } from '../shared/amount.js';
import type { SettlementService } from './service/settlement-service.js';
import type { SettlementReason, SettlementResult } from './store/settle.js';
import type { OpsFeed, OpsMessage } from './http/ops-feed.js';

const SETTLEMENT_REASONS = ['epoch', 'threshold', 'close', 'expiry', 'manual'] as const satisfies readonly SettlementReason[];

export function registerSettlementMetrics(registry: Registry, service: SettlementService, feed: OpsFeed): () => void {
  const count = new Counter({ name: 'mqpay_settlements_total', help: 'Settlements committed, by reason.', labelNames: ['reason'], registers: [registry] });
  const channels = new Histogram({ name: 'mqpay_settlement_channels', help: 'Channels settled per settlement (its size).', buckets: [1, 10, 100, 1_000, 10_000, 100_000], registers: [registry] });
  const settled = new Counter({ name: 'mqpay_settled_micro_total', help: 'Amount moved out of escrow by settlements, fees included, in micro-units (float64: exact to 2^53).', registers: [registry] });
  const duration = new Histogram({ name: 'mqpay_settlement_duration_seconds', help: 'Time of the settling SQLite transaction, by reason.', labelNames: ['reason'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] });

  for (const reason of SETTLEMENT_REASONS) {
    count.inc({ reason }, 0);
    duration.zero({ reason });
  }

  const onOps = (message: OpsMessage): void => {
    if (message.stream !== 'settlements') return;
    const { reason, channels: size, amount } = message.body;
    count.inc({ reason: String(reason) });
    if (typeof size === 'number') channels.observe(size);
    if (typeof amount === 'string') settled.inc(Number(parseAmount(amount)));
  };
  const onSettled = (result: SettlementResult, durationMs: number): void => duration.observe({ reason: result.reason }, durationMs / 1000);
  feed.on('message', onOps);
  service.events.on('settlement', onSettled);
  return () => {
    feed.off('message', onOps);
    service.events.off('settlement', onSettled);
  };
}
