// The broker application: store, settlement service and MQTT host wired together. Building it
// (createBrokerApp) is separate from listening (app.listen), so tests run it in-process on
// port 0 and the CLI runs it on real ports.
import { amountOf, type Amount } from '../shared/amount.js';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { pino, type Logger } from 'pino';
import type { RandomBytes } from '../shared/ids.js';
import { toHex } from '../shared/hex.js';
import { brokerConfig, isLoopbackHost, type BrokerConfig, type BrokerConfigInput } from './config.js';
import { TlsReloader } from './mqtt/tls-material.js';
import { VOUCHER_PRUNE_INTERVAL_MS, VOUCHER_PRUNE_RETRY_MS } from './limits.js';
import { recordedDeviceCertificate } from './store/sqlite/device-certificates.js';
import { publishOpsTopics } from './operator/ops-topics.js';
import { aedesTransport } from './mqtt/aedes-transport.js';
import { attachMqttHost, createAedes, type MqttHost } from './mqtt/host.js';
import { loadOrCreateServiceKey } from './service-key.js';
import type { Clock, ServiceOptions, TransportPort } from './service/ports.js';
import { createSettlementService, type SettlementService } from './service/service.js';
import { Telemetry } from './service/telemetry.js';
import { inlineVerifier, WorkerVerifier } from './service/vouchers/verify-pool.js';
import type { Store } from './store/port.js';
import { sqliteStore } from './store/sqlite/store.js';
import { openDatabase, type Db } from './store/sqlite/open-database.js';
import { ledgerCurrency } from './store/sqlite/ledger-currency.js';
import { journalDirOf, setJournalDir } from './store/sqlite/restore-record.js';
import { BackupSchedule } from './backup/backup-schedule.js';
import type { SyncStall } from './store/sqlite/durable-commit.js';
import { WalCheckpointer } from './store/sqlite/wal-checkpointer.js';
import { openWalSync, type SyncWal } from './store/sqlite/wal-sync.js';

// pino at the edges only. Amounts are logged as strings; keys and signatures never.
export function createLogger(level: string, name = 'mqpay'): Logger {
  return pino({ name, level, redact: { paths: ['secretKey', 'password', 'signature', '*.secretKey', '*.password'], remove: true } }, pino.destination(2));
}

export interface BrokerApp {
  readonly config: BrokerConfig;
  readonly db: Db;
  /** The ledger's currency (ISO 4217), read at start; it never changes [docs/DESIGN.md rule 13]. */
  readonly currency: string;
  readonly service: SettlementService;
  readonly mqtt: MqttHost;
  readonly servicePublicKeyHex: string;
  readonly logger: Logger;
  /** The injected clock and the transport the service publishes through, for the operator surface. */
  readonly clock: Clock;
  readonly transport: TransportPort;
  /** Scheduled backups (null without --backup-every) [broker/backup/backup-schedule.ts]. */
  readonly backups: BackupSchedule | null;
  /** Where operator money actions are journaled (--backup-dir), or null [broker/backup/operator-journal.ts]. */
  readonly journalDir: string | null;
  /** The TLS material (null without --tls-cert): reload() re-reads the files, as SIGHUP does. */
  readonly tls: TlsReloader | null;
  /**
   * Deletes the vouchers past retention now (broker/store/sqlite/retention.ts); returns how many,
   * or null when retention is off or a unit of work was open (it runs again shortly).
   */
  pruneVouchers(): Promise<number | null>;
  /** Ports bound; null for a listener that is off. httpPort serves HTTPS when tls is on. */
  listen(): Promise<ListeningPorts>;
  close(): Promise<void>;
}

export interface ListeningPorts {
  readonly mqttPort: number | null;
  readonly mqttsPort: number | null;
  readonly httpPort: number | null;
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
  /**
   * The commit fsync (default: fdatasync of the WAL on libuv's pool, wal-sync.ts). Slow-disk
   * tests wrap the real one to hold it; the fsync itself stays real.
   */
  readonly syncWal?: (real: SyncWal) => SyncWal;
  /**
   * Accepted vouchers the store logs per channel (default VOUCHERS_KEPT_PER_CHANNEL). Full-disk
   * tests keep them all, so that vouchers still grow the file until it is full.
   */
  readonly vouchersKeptPerChannel?: number;
  /**
   * Another process writes the same ledger file (tests of the cluster's stale-cache rule): the
   * service re-checks what its channel cache may have missed [docs/DESIGN.md rule 16].
   */
  readonly storeShared?: boolean;
  /** Extra HTTP routes (the operator API); return false to fall through to 404. */
  readonly httpHandler?: (app: BrokerApp) => (request: import('node:http').IncomingMessage, response: import('node:http').ServerResponse) => boolean | Promise<boolean>;
}

export const systemClock: Clock = { nowMs: () => Date.now() };
export const systemRandom: RandomBytes = (length) => new Uint8Array(randomBytes(length));

/**
 * A slow disk raises the alarm of storage faults (`storage.fault`, `disk-slow`: the log, the
 * metrics and the operator's alarms stream); `storage.sync-stall` drives the service's refusals
 * and the `mqpay_storage_stalled` gauge until the fsync returns.
 */
function syncStallAlarm(telemetry: Telemetry, logger: Logger): (stall: SyncStall) => void {
  return (stall) => {
    telemetry.emit({ kind: 'storage.sync-stall', ...stall });
    if (stall.state === 'stalled') telemetry.emit({ kind: 'storage.fault', reason: 'disk-slow' });
    const waitedMs = Math.round(stall.waitedMs);
    if (stall.state === 'stalled') logger.error({ waited_ms: waitedMs }, 'the ledger\'s disk stalled: a commit is waiting for its fsync; writes are refused until it returns');
    else logger.warn({ waited_ms: waitedMs }, 'the ledger\'s disk is back: the stalled fsync returned; writes are taken again');
  };
}

/** The SQLite store over the app's file, reporting lock waits and disk stalls to telemetry and the log. */
function sqliteStoreFor(config: BrokerConfig, telemetry: Telemetry, logger: Logger, durability: { syncWal: SyncWal; onSyncStall: (stall: SyncStall) => void; vouchersKeptPerChannel?: number }): (db: Db) => Store {
  return (database) => sqliteStore(database, {
    ...durability,
    lockWaitMs: config.storeLockWaitMs,
    onLockWait(waited) {
      telemetry.emit({ kind: 'storage.lock-wait', ...waited });
      if (waited.acquired) logger.warn({ waited_ms: waited.waitedMs }, 'write waited for a lock held by another process');
      else logger.error({ waited_ms: waited.waitedMs }, 'write refused: the ledger stayed locked by another process');
    },
    onFault: (reason) => telemetry.emit({ kind: 'storage.fault', reason }),
  });
}

/** The TLS material, read now so a missing file or a key that does not match fails at start. */
function tlsReloaderOf(config: BrokerConfig, logger: Logger): TlsReloader | null {
  if (config.tlsCertFile === null || config.tlsKeyFile === null) return null;
  const tls = new TlsReloader({ certFile: config.tlsCertFile, keyFile: config.tlsKeyFile, clientCaFile: config.tlsClientCaFile });
  tls.onReload((material) => logger.info({ fingerprint256: material.fingerprint256, not_after: new Date(material.notAfterMs).toISOString() }, 'TLS certificate reloaded'));
  tls.onFailure((error) => logger.warn({ err: error.message }, 'TLS reload failed; still serving the previous certificate'));
  return tls;
}

type HttpHandler = (request: IncomingMessage, response: ServerResponse) => boolean | Promise<boolean>;

/** The HTTP (or, with a certificate, HTTPS) server: the operator routes, /healthz, else 404. */
function operatorHttpServer(config: BrokerConfig, tls: TlsReloader | null, extra: HttpHandler | undefined, logger: Logger): HttpServer {
  const onRequest = (request: IncomingMessage, response: ServerResponse) => {
    Promise.resolve(extra?.(request, response) ?? false).then((handled) => {
      if (handled) return;
      response.writeHead(request.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
      response.end(request.url === '/healthz' ? 'ok\n' : 'not found\n');
    }, (error: unknown) => {
      logger.error({ err: error }, 'http handler failed');
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  };
  if (tls === null) return createServer(onRequest);
  // Browsers have no device certificate: the handshake asks for one (mutual TLS) but lets the
  // request through without; the operator API and device logins check it themselves.
  const https = createHttpsServer({ ...tls.current.context, requestCert: config.tlsClientCaFile !== null, rejectUnauthorized: false }, onRequest);
  tls.onReload((material) => https.setSecureContext(material.context));
  return https;
}

function listenHttp(server: HttpServer, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
}

/** Voucher retention on a timer: every interval, sooner again when a run was deferred. */
class RetentionSchedule {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly prune: () => Promise<number | null>) {}

  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true; // a prune still in flight must not schedule another
    if (this.timer !== null) clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.prune().then((pruned) => this.schedule(pruned === null ? VOUCHER_PRUNE_RETRY_MS : VOUCHER_PRUNE_INTERVAL_MS));
    }, delayMs);
    this.timer.unref();
  }
}

const amountOrNull = (micro: bigint | null): Amount | null => (micro === null ? null : amountOf(micro));

/** The settlement service's options from a broker's configuration (the embedded broker's, or a cluster worker's). */
export function serviceOptionsOf(config: BrokerConfig, currency: string): ServiceOptions {
  return {
    currency, brokerId: config.brokerId, epochSeconds: config.epochSeconds, settleThresholdMicro: config.settleThresholdMicro, feePpm: config.feePpm, closeWindowSeconds: config.closeWindowSeconds, voucherBatchMax: config.voucherBatchMax, voucherReplyQos: config.voucherReplyQos, channelCacheEntriesMax: config.channelCacheEntriesMax,
    deviceLimitDefaults: { maxPerPayment: amountOrNull(config.deviceMaxPerPaymentMicro), maxPerHour: amountOrNull(config.deviceMaxPerHourMicro), maxPerDay: amountOrNull(config.deviceMaxPerDayMicro) },
  };
}

export async function createBrokerApp(input: BrokerConfigInput, overrides: BrokerOverrides = {}): Promise<BrokerApp> {
  const config = brokerConfig(input);
  const clock = overrides.clock ?? systemClock;
  const random = overrides.random ?? systemRandom;
  const logger = overrides.logger ?? createLogger(config.logLevel);
  // A new ledger gets --currency (or the default); an existing one with another is CURRENCY_MISMATCH.
  const db = openDatabase(config.dataDir, config.currency === null ? {} : { currency: config.currency });
  const currency = ledgerCurrency(db);
  const serviceKey = loadOrCreateServiceKey(config.dataDir, random);
  const aedes = await createAedes(config);
  const transport = aedesTransport(aedes);
  const telemetry = new Telemetry();
  const storeLogger = logger.child({ module: 'store' });
  // Commits are made durable off the event loop, and checkpoints run in a worker.
  const walSync = openWalSync(db.name);
  const syncWal = overrides.syncWal?.(walSync.syncWal) ?? walSync.syncWal;
  const checkpointer = new WalCheckpointer(db.name, (result) => {
    if (!result.ok && result.code !== 'SQLITE_BUSY') storeLogger.warn({ code: result.code }, 'WAL checkpoint failed; tried again at the next interval');
  });
  const storeFor = sqliteStoreFor(config, telemetry, storeLogger, { syncWal, onSyncStall: syncStallAlarm(telemetry, storeLogger), ...(overrides.vouchersKeptPerChannel === undefined ? {} : { vouchersKeptPerChannel: overrides.vouchersKeptPerChannel }) });
  const verifier = config.verifyThreads >= 1 ? new WorkerVerifier({ threads: config.verifyThreads }) : inlineVerifier;
  const service = createSettlementService({
    store: (overrides.store ?? storeFor)(db), telemetry, clock, random, serviceKey, transport, verifier, logger: logger.child({ module: 'settlement' }),
    options: { ...serviceOptionsOf(config, currency), ...(overrides.storeShared === true ? { storeShared: true } : {}) },
  });
  // The ops topics are written from the telemetry port, whether or not the HTTP API is on.
  const stopOpsTopics = publishOpsTopics(service.telemetry, transport, logger.child({ module: 'ops' }));
  // A read on the broker's own connection: enrolment (admin CLI) commits before a device connects.
  const recordedCertificateOf = (device: string) => recordedDeviceCertificate(db, device);
  const mqtt = attachMqttHost(aedes, { config, clock, logger: logger.child({ module: 'mqtt' }), service, transport, recordedCertificateOf });
  const tls = tlsReloaderOf(config, logger.child({ module: 'tls' }));
  let httpServer: HttpServer | null = null;
  // Admin commands on the data directory journal their fundings beside the broker's backups.
  if (config.backupDir !== null && journalDirOf(db) !== config.backupDir) setJournalDir(db, config.backupDir);
  const backups = config.backupDir === null || config.backupEverySeconds === null ? null
    : new BackupSchedule(db, serviceKey.secretKey, { clock, telemetry: service.telemetry, logger: logger.child({ module: 'backup' }) }, { dir: config.backupDir, everyMs: config.backupEverySeconds * 1000, keep: config.backupKeep });
  const retention = new RetentionSchedule(() => app.pruneVouchers());

  const app: BrokerApp = {
    config, db, currency, service, mqtt, logger, clock, transport, tls, backups, journalDir: config.backupDir, servicePublicKeyHex: toHex(serviceKey.publicKey),
    async pruneVouchers() {
      if (config.voucherRetentionDays === null) return null;
      // A write like any other: through the service's unit of work, never beside it.
      let pruned: number;
      try {
        pruned = await service.pruneVouchers(clock.nowMs() - config.voucherRetentionDays * 86_400_000);
      } catch (error) {
        logger.warn({ err: error }, 'voucher retention deferred');
        return null;
      }
      if (pruned > 0) logger.info({ pruned, retention_days: config.voucherRetentionDays }, 'settled vouchers past retention deleted');
      return pruned;
    },
    async listen() {
      const plaintext = config.mqttPort !== null || (config.httpPort !== null && tls === null);
      if (plaintext && !isLoopbackHost(config.host)) logger.warn({ host: config.host }, 'plain-text listener on a non-loopback address (--insecure-plaintext): tokens and payments cross the network unencrypted');
      const mqttPort = config.mqttPort === null ? null : await mqtt.listenTcp(config.mqttPort, config.host);
      const mqttsPort = tls === null ? null : await mqtt.listenTls(config.mqttsPort, config.host, tls);
      let httpPort: number | null = null;
      if (config.httpPort !== null) {
        httpServer = operatorHttpServer(config, tls, overrides.httpHandler?.(app), logger);
        mqtt.attachWebSocket(httpServer);
        httpPort = await listenHttp(httpServer, config.httpPort, config.host);
      }
      tls?.watchFiles();
      if (config.voucherRetentionDays !== null) retention.start();
      service.start();
      backups?.start();
      return { mqttPort, mqttsPort, httpPort };
    },
    async close() {
      retention.stop();
      await backups?.stop();
      await service.stop();
      stopOpsTopics();
      tls?.close();
      if (httpServer !== null) {
        httpServer.closeAllConnections();
        await new Promise<void>((resolve) => httpServer?.close(() => resolve()));
      }
      await mqtt.close();
      // Verifications still in flight finish inline; their vouchers then join the last batch.
      await verifier.close();
      await new Promise((resolve) => setImmediate(resolve));
      await service.flush();
      await checkpointer.close();
      walSync.close();
      db.close();
    },
  };
  return app;
}
