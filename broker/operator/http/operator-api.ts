// The operator HTTP surface, plugged into the broker's HTTP server through
// BrokerOverrides.httpHandler: the JSON API under /api, the live dashboard at /, Prometheus
// metrics at /metrics. Built once per broker when it starts listening; everything it starts
// (the ops subscription, the rate sampler, the streams) stops when the broker's aedes closes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BrokerApp } from '../../app.js';
import { createOperatorMetrics } from '../metrics.js';
import { AlarmMonitor } from './alarm-monitor.js';
import { LiveEvents } from './live-events.js';
import { openApiDocument } from './openapi.js';
import type { OperatorContext } from './operator-context.js';
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

export function operatorHttpHandler(options: OperatorApiOptions = {}): (app: BrokerApp) => (request: IncomingMessage, response: ServerResponse) => Promise<boolean> {
  return (app) => {
    const feed = new OpsFeed(app.service.telemetry);
    const live = new LiveEvents(app, feed);
    const alarms = new AlarmMonitor(app.service.telemetry, app.clock);
    const history = new OpsHistory(feed, app.clock.nowMs());
    const metrics = createOperatorMetrics(app, () => live.clientCount);
    const document = openApiDocument(ROUTES, OPERATOR_API_VERSION);
    const ops: OperatorContext = {
      app, live, alarms, history, metrics,
      assets: staticAssets(options.assetsDir),
      logger: app.logger.child({ module: 'http' }),
      openapi: () => document,
      publishEvent: opsEventPublisher(app),
    };
    feed.start();
    live.start();
    history.start();
    alarms.start((message) => live.publish('alarms', message));
    app.mqtt.aedes.once('closed', () => {
      alarms.stop();
      history.stop();
      live.stop();
      feed.stop();
      metrics.close();
    });
    const route = createRouter(ROUTES, ops);
    return async (request, response) => {
      await route(request, response);
      return true;
    };
  };
}
