// What every operator route gets: the host it serves (the embedded broker, or a cluster worker
// over the shared ledger), the live-event hub, the metrics, the dashboard's files, a logger for
// admin actions, and the OpenAPI document built from the route table.
import type { Logger } from 'pino';
import type { BackupSchedule } from '../../backup/backup-schedule.js';
import type { BrokerConfig } from '../../config.js';
import type { Clock } from '../../service/ports.js';
import type { SettlementService } from '../../service/service.js';
import type { OperatorReads } from '../../store/operator-reads.js';
import type { OperatorMetrics } from '../metrics.js';
import type { AlarmMonitor } from './alarm-monitor.js';
import type { LiveEvents } from './live-events.js';
import type { OpsHistory } from './ops-history.js';
import type { OpsEventInput } from './ops-events.js';
import type { StaticAssets } from './static-assets.js';

/**
 * What the operator surface needs of the process serving it [issue 15]: reads through the
 * operator reads port (SQLite or PostgreSQL), writes through the settlement service (its store
 * port), and who is connected. The embedded broker is one (operator-api.ts), a cluster worker
 * another (broker/cluster/operator/).
 */
export interface OperatorHost {
  readonly config: Pick<BrokerConfig, 'operatorToken' | 'operatorClientCert'>;
  /** The ledger's currency (ISO 4217) [docs/DESIGN.md rule 13]. */
  readonly currency: string;
  readonly reads: OperatorReads;
  readonly service: SettlementService;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Scheduled backups (null: none here) and the operator journal's directory (null: none). */
  readonly backups: BackupSchedule | null;
  readonly journalDir: string | null;
  /** Devices connected now, and closing one's live session (false when it has none here). */
  readonly mqtt: { readonly online: ReadonlySet<string>; disconnect(device: string): boolean };
}

export interface OperatorContext {
  readonly app: OperatorHost;
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
