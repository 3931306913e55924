// Settlement metrics, from the telemetry port's settlement events, which reports every committed
// settlement (epochs, thresholds, manual runs, expiries, closes by devices or operators) with the
// time its settling transaction took.
import { Counter, Histogram, type Registry } from 'prom-client';
import type { SettlementService } from './service/service.js';
import type { SettlementReason } from './store/settle.js';

const SETTLEMENT_REASONS = ['epoch', 'threshold', 'close', 'expiry', 'manual'] as const satisfies readonly SettlementReason[];

export function registerSettlementMetrics(registry: Registry, service: SettlementService): () => void {
  const count = new Counter({ name: 'mqpay_settlements_total', help: 'Settlements committed, by reason.', labelNames: ['reason'], registers: [registry] });
  const channels = new Histogram({ name: 'mqpay_settlement_channels', help: 'Channels settled per settlement (its size).', buckets: [1, 10, 100, 1_000, 10_000, 100_000], registers: [registry] });
  const settled = new Counter({ name: 'mqpay_settled_micro_total', help: 'Amount moved out of escrow by settlements, fees included, in micro-units (float64: exact to 2^53).', registers: [registry] });
  const duration = new Histogram({ name: 'mqpay_settlement_duration_seconds', help: 'Time of the settling SQLite transaction, by reason.', labelNames: ['reason'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] });

  for (const reason of SETTLEMENT_REASONS) {
    count.inc({ reason }, 0);
    duration.zero({ reason });
  }

  return service.telemetry.on((event) => {
    if (event.kind !== 'settlement') return;
    const { result, durationMs } = event;
    count.inc({ reason: result.reason });
    channels.observe(result.channelCount);
    settled.inc(Number(result.amount)); // a gauge of micro-units: float64, exact to 2^53
    duration.observe({ reason: result.reason }, durationMs / 1000);
  });
}
