// Prometheus metrics at GET /metrics, on the broker's own prom-client Registry (never the global
// one, so two brokers in one process, as in tests, do not mix). Names are prefixed mqpay_;
// Node's default metrics (event loop lag, heap, CPU, GC) keep their standard names.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { BrokerApp } from './app.js';
import type { OpsFeed } from './http/ops-feed.js';
import { registerLedgerMetrics } from './metrics-ledger.js';
import { registerServiceMetrics } from './metrics-service.js';
import { registerSettlementMetrics } from './metrics-settlements.js';

export interface OperatorMetrics {
  readonly registry: Registry;
  /** Counts one answered HTTP request by route template (not the raw URL: bounded labels). */
  observeHttp(route: string, method: string, status: number): void;
  close(): void;
}

export function createOperatorMetrics(app: BrokerApp, sseClients: () => number): OperatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  registerServiceMetrics(registry, app);
  registerLedgerMetrics(registry, app.db);
  const stopSettlements = registerSettlementMetrics(registry, app.service);
  const http = new Counter({ name: 'mqpay_http_requests_total', help: 'Operator HTTP requests answered, by route template, method and status.', labelNames: ['route', 'method', 'status'], registers: [registry] });
  new Gauge({ name: 'mqpay_sse_clients', help: 'Open live-event streams (/api/events).', registers: [registry], collect() { this.set(sseClients()); } });
  return {
    registry,
    observeHttp: (route, method, status) => http.inc({ route, method, status: String(status) }),
    close: stopSettlements,
  };
}
