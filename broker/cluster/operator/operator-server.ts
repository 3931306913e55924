// The operator API and dashboard of a cluster [issue 15], served by a worker started with
// --http-port (`cluster up` gives one to the first worker): the same routes as the embedded
// broker's, over another host. Reads go through the operator reads port of the shared ledger
// (PostgreSQL or SQLite); writes (fund, payouts, moves, device limits, disable/enable, close,
// settle now) through this worker's settlement service over the shared store, so they are one
// unit of work each, as in the embedded broker [docs/DESIGN.md "One unit of work"]. Other
// workers' caches see them by the stale-cache rule [docs/DESIGN.md rule 16].
// A device's live MQTT session is RabbitMQ's, not this process's: disabling a device refuses its
// next connect (the auth service reads its status), but cannot close the session it has.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createClusterOperatorMetrics } from '../../operator/metrics.js';
import type { OperatorHost } from '../../operator/http/operator-context.js';
import { operatorSurface } from '../../operator/http/operator-api.js';
import type { Clock } from '../../service/ports.js';
import type { SettlementService } from '../../service/service.js';
import type { OperatorReads } from '../../store/operator-reads.js';

export interface ClusterOperatorOptions {
  readonly service: SettlementService;
  readonly reads: OperatorReads;
  readonly currency: string;
  readonly operatorToken: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Devices connected to the cluster as this process has seen them (the event exchange). */
  readonly online: () => ReadonlySet<string>;
  readonly port: number;
  /** Address to listen on (default loopback: the operator token is the only guard; no TLS here). */
  readonly host?: string;
  /** Directory of the built dashboard (default: dist/dashboard). */
  readonly assetsDir?: string;
}

export interface ClusterOperatorServer {
  readonly url: string;
  close(): Promise<void>;
}

function clusterHost(options: ClusterOperatorOptions): OperatorHost {
  return {
    config: { operatorToken: options.operatorToken, operatorClientCert: false },
    currency: options.currency, reads: options.reads, service: options.service, clock: options.clock, logger: options.logger,
    backups: null, journalDir: null,
    mqtt: { get online() { return options.online(); }, disconnect: () => false },
  };
}

export function serveClusterOperator(options: ClusterOperatorOptions): Promise<ClusterOperatorServer> {
  const host = clusterHost(options);
  const surface = operatorSurface(host, options.assetsDir === undefined ? {} : { assetsDir: options.assetsDir },
    (live) => createClusterOperatorMetrics(options.service, options.reads, options.currency, () => options.online().size, () => live.clientCount));
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (request.url === '/healthz') return void response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    surface.handle(request, response).catch((error: unknown) => {
      options.logger.error({ err: error }, 'http handler failed');
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', (error) => {
      surface.stop();
      reject(error);
    });
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      const { address, port } = server.address() as AddressInfo;
      resolve({
        url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
        close: () => new Promise((done) => {
          surface.stop();
          server.close(() => done());
          server.closeAllConnections();
        }),
      });
    });
  });
}
