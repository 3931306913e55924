// What every operator route gets: the broker, the live-event hub, the metrics, the dashboard's
// files, a logger for admin actions, and the OpenAPI document built from the route table.
import type { Logger } from 'pino';
import type { BrokerApp } from '../../app.js';
import type { OperatorMetrics } from '../metrics.js';
import type { AlarmMonitor } from './alarm-monitor.js';
import type { LiveEvents } from './live-events.js';
import type { OpsHistory } from './ops-history.js';
import type { OpsEventInput } from './ops-events.js';
import type { StaticAssets } from './static-assets.js';

export interface OperatorContext {
  readonly app: BrokerApp;
  readonly live: LiveEvents;
  /** Attacks and faults: counters and recent incidents (the alarms panel). */
  readonly alarms: AlarmMonitor;
  /** Recent operator events in memory (the device page's events and online history). */
  readonly history: OpsHistory;
  readonly metrics: OperatorMetrics;
  readonly assets: StaticAssets;
  readonly logger: Logger;
  readonly openapi: () => Record<string, unknown>;
  /** Publishes an admin action on mqpay/v1/ops/events (MQTT operators and SSE both see it). */
  readonly publishEvent: (event: OpsEventInput) => void;
}
