// The operator HTTP surface, plugged into the broker's HTTP server through
// BrokerOverrides.httpHandler: the JSON API under /api, the live dashboard at /, Prometheus
// metrics at /metrics. Built once per broker when it starts listening; everything it starts
// (the ops subscription, the rate sampler, the streams) stops when the broker's aedes closes.
// The same surface serves a cluster worker over the shared ledger (operatorSurface with another
// host: broker/cluster/operator/).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BrokerApp } from '../../app.js';
import { sqliteOperatorReads } from '../../store/sqlite/operator-reads-adapter.js';
import { createOperatorMetrics, type OperatorMetrics } from '../metrics.js';
import { AlarmMonitor } from './alarm-monitor.js';
import { LiveEvents } from './live-events.js';
import { openApiDocument } from './openapi.js';
import type { OperatorContext, OperatorHost } from './operator-context.js';
import { opsEventPublisher } from './ops-events.js';
import { OpsFeed } from './ops-feed.js';
import { OpsHistory } from './ops-history.js';
import { ROUTES } from './route-table.js';
import { createRouter } from './router.js';
import { staticAssets } from './static-assets.js';

/** Version of the API's contract, in the OpenAPI document. */
export const OPERATOR_API_VERSION = '1.0.0';

export interface OperatorApiOptions {
  /** Directory of the built dashboard (default: dist/dashboard). */
  readonly assetsDir?: string;
}

type Handler = (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;

export interface OperatorSurface {
  readonly handle: Handler;
  /** Stops the streams, the sampler and the metrics' subscriptions. */
  stop(): void;
}

/** The embedded broker as an operator host: its SQLite ledger read directly, its aedes sessions. */
export function brokerOperatorHost(app: BrokerApp): OperatorHost {
  return {
    config: app.config, currency: app.currency, reads: sqliteOperatorReads(app.db), service: app.service, clock: app.clock, logger: app.logger,
    backups: app.backups, journalDir: app.journalDir, mqtt: app.mqtt,
  };
}

export function operatorHttpHandler(options: OperatorApiOptions = {}): (app: BrokerApp) => Handler {
  return (app) => {
    const surface = operatorSurface(brokerOperatorHost(app), options, (live) => createOperatorMetrics(app, () => live.clientCount));
    app.mqtt.aedes.once('closed', () => surface.stop());
    return surface.handle;
  };
}

/** The routes over a host, with the live feeds it starts (stopped by stop()). */
export function operatorSurface(host: OperatorHost, options: OperatorApiOptions, metricsOf: (live: LiveEvents) => OperatorMetrics): OperatorSurface {
  const feed = new OpsFeed(host.service.telemetry);
  const live = new LiveEvents(host, feed);
  const alarms = new AlarmMonitor(host.service.telemetry, host.clock);
  const history = new OpsHistory(feed, host.clock.nowMs());
  const metrics = metricsOf(live);
  const document = openApiDocument(ROUTES, OPERATOR_API_VERSION);
  const ops: OperatorContext = {
    app: host, live, alarms, history, metrics,
    assets: staticAssets(options.assetsDir),
    logger: host.logger.child({ module: 'http' }),
    openapi: () => document,
    publishEvent: opsEventPublisher(host),
  };
  feed.start();
  live.start();
  history.start();
  alarms.start((message) => live.publish('alarms', message));
  const route = createRouter(ROUTES, ops);
  return {
    handle: async (request, response) => {
      await route(request, response);
      return true;
    },
    stop() {
      alarms.stop();
      history.stop();
      live.stop();
      feed.stop();
      metrics.close();
    },
  };
}
