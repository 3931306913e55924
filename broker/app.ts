// The broker application: store, settlement service and MQTT host wired together. Building it
// (createBrokerApp) is separate from listening (app.listen), so tests run it in-process on
// port 0 and the CLI runs it on real ports.
import { randomBytes } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import { pino, type Logger } from 'pino';
import type { RandomBytes } from '../shared/ids.js';
import { toHex } from '../shared/hex.js';
import { brokerConfig, type BrokerConfig, type BrokerConfigInput } from './config.js';
import { publishOpsTopics } from './operator/ops-topics.js';
import { aedesTransport } from './mqtt/aedes-transport.js';
import { attachMqttHost, createAedes, type MqttHost } from './mqtt/host.js';
import { loadOrCreateServiceKey } from './service-key.js';
import type { Clock, TransportPort } from './service/ports.js';
import { createSettlementService, type SettlementService } from './service/service.js';
import { Telemetry } from './service/telemetry.js';
import { inlineVerifier, WorkerVerifier } from './service/vouchers/verify-pool.js';
import type { Store } from './store/port.js';
import { sqliteStore } from './store/sqlite/store.js';
import { openDatabase, type Db } from './store/sqlite/open-database.js';

// pino at the edges only. Amounts are logged as strings; keys and signatures never.
function createLogger(level: string, name = 'mqpay'): Logger {
  return pino({ name, level, redact: { paths: ['secretKey', 'password', 'signature', '*.secretKey', '*.password'], remove: true } }, pino.destination(2));
}

export interface BrokerApp {
  readonly config: BrokerConfig;
  readonly db: Db;
  readonly service: SettlementService;
  readonly mqtt: MqttHost;
  readonly servicePublicKeyHex: string;
  readonly logger: Logger;
  /** The injected clock and the transport the service publishes through, for the operator surface. */
  readonly clock: Clock;
  readonly transport: TransportPort;
  listen(): Promise<{ mqttPort: number; httpPort: number | null }>;
  close(): Promise<void>;
}

export interface BrokerOverrides {
  readonly clock?: Clock;
  readonly random?: RandomBytes;
  readonly logger?: Logger;
  /**
   * The store over the app's SQLite file (default: the SQLite adapter as it is). Fault-injection
   * tests wrap the real adapter to hold or fail its commits; the database stays real.
   */
  readonly store?: (db: Db) => Store;
  /** Extra HTTP routes (the operator API); return false to fall through to 404. */
  readonly httpHandler?: (app: BrokerApp) => (request: import('node:http').IncomingMessage, response: import('node:http').ServerResponse) => boolean | Promise<boolean>;
}

export const systemClock: Clock = { nowMs: () => Date.now() };
export const systemRandom: RandomBytes = (length) => new Uint8Array(randomBytes(length));

export async function createBrokerApp(input: BrokerConfigInput, overrides: BrokerOverrides = {}): Promise<BrokerApp> {
  const config = brokerConfig(input);
  const clock = overrides.clock ?? systemClock;
  const random = overrides.random ?? systemRandom;
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const db = openDatabase(config.dataDir);
  const serviceKey = loadOrCreateServiceKey(config.dataDir, random);
  const aedes = await createAedes(config);
  const transport = aedesTransport(aedes);
  const telemetry = new Telemetry();
  const storeLogger = logger.child({ module: 'store' });
  const storeFor = (database: Db): Store => sqliteStore(database, {
    lockWaitMs: config.storeLockWaitMs,
    onLockWait(waited) {
      telemetry.emit({ kind: 'storage.lock-wait', ...waited });
      if (waited.acquired) storeLogger.warn({ waited_ms: waited.waitedMs }, 'write waited for a lock held by another process');
      else storeLogger.error({ waited_ms: waited.waitedMs }, 'write refused: the ledger stayed locked by another process');
    },
  });
  const verifier = config.verifyThreads === 1 ? new WorkerVerifier() : inlineVerifier;
  const service = createSettlementService({
    store: (overrides.store ?? storeFor)(db), telemetry, clock, random, serviceKey, transport, verifier, logger: logger.child({ module: 'settlement' }),
    options: { brokerId: config.brokerId, epochSeconds: config.epochSeconds, settleThresholdMicro: config.settleThresholdMicro, feePpm: config.feePpm, closeWindowSeconds: config.closeWindowSeconds, voucherBatchMax: config.voucherBatchMax, voucherReplyQos: config.voucherReplyQos, channelCacheEntriesMax: config.channelCacheEntriesMax },
  });
  // The ops topics are written from the telemetry port, whether or not the HTTP API is on.
  const stopOpsTopics = publishOpsTopics(service.telemetry, transport, logger.child({ module: 'ops' }));
  const mqtt = attachMqttHost(aedes, { config, clock, logger: logger.child({ module: 'mqtt' }), service, transport });
  let httpServer: HttpServer | null = null;

  const app: BrokerApp = {
    config, db, service, mqtt, logger, clock, transport, servicePublicKeyHex: toHex(serviceKey.publicKey),
    async listen() {
      const mqttPort = await mqtt.listenTcp(config.mqttPort, config.host);
      let httpPort: number | null = null;
      if (config.httpPort !== null) {
        const extra = overrides.httpHandler?.(app);
        httpServer = createServer((request, response) => {
          Promise.resolve(extra?.(request, response) ?? false).then((handled) => {
            if (handled) return;
            response.writeHead(request.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
            response.end(request.url === '/healthz' ? 'ok\n' : 'not found\n');
          }, (error: unknown) => {
            logger.error({ err: error }, 'http handler failed');
            if (!response.headersSent) response.writeHead(500);
            response.end();
          });
        });
        mqtt.attachWebSocket(httpServer);
        const server = httpServer;
        httpPort = await new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen(config.httpPort ?? 0, config.host, () => {
            const address = server.address();
            resolve(typeof address === 'object' && address !== null ? address.port : 0);
          });
        });
      }
      service.start();
      return { mqttPort, httpPort };
    },
    async close() {
      await service.stop();
      stopOpsTopics();
      if (httpServer !== null) {
        httpServer.closeAllConnections();
        await new Promise<void>((resolve) => httpServer?.close(() => resolve()));
      }
      await mqtt.close();
      // Verifications still in flight finish inline; their vouchers then join the last batch.
      await verifier.close();
      await new Promise((resolve) => setImmediate(resolve));
      await service.flush();
      db.close();
    },
  };
  return app;
}
