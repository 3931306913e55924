// One cluster worker (`mqpay worker`): the settlement service over a shared store, fed by the
// outbox partitions of a RabbitMQ cluster and answering through amq.topic [issue 15]. Several run
// at once; each consumes every partition and RabbitMQ's single-active-consumer makes one of them
// active per partition. Only the leader runs epochs (and the offer sweep): over PostgreSQL the
// holder of the leader lock, over SQLite the one worker started with `leader: true` (leadership.ts).
import { randomBytes } from 'node:crypto';
import { connect, type ChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { createLogger, serviceOptionsOf, systemClock, systemRandom } from '../../app.js';
import { brokerConfig, type BrokerConfigInput } from '../../config.js';
import { OutboxGate } from '../../mqtt/outbox-gate.js';
import type { Clock } from '../../service/ports.js';
import { loadOrCreateServiceKeyFile } from '../../service-key.js';
import { createSettlementService, type SettlementService } from '../../service/service.js';
import { Telemetry } from '../../service/telemetry.js';
import { inlineVerifier } from '../../service/vouchers/verify-pool.js';
import { openStore, storeKindOf } from '../../store/open-store.js';
import { openPostgresLedger } from '../../store/postgres/open.js';
import type { Store } from '../../store/port.js';
import type pg from 'pg';
import { fixedLeadership, lockedLeadership, type Leadership } from './leadership.js';
import { amqpTransport } from './amqp-transport.js';
import { OutboxConsumer, type OutboxConsumerCounts } from './outbox-consumer.js';
import { SubscriptionWatcher } from './subscriptions.js';
import { declareTopology, EVENT_EXCHANGE } from './topology.js';

export interface ClusterWorkerOptions {
  /** AMQP URLs of the cluster's nodes; the first that accepts is used. */
  readonly amqpUrls: readonly string[];
  /** The shared store: `postgres://...` or a SQLite file (broker/store/open-store.ts). */
  readonly storeUrl: string;
  /** The service key every process of the cluster shares (hex seed; created when absent). */
  readonly serviceKeyFile: string;
  readonly partitions: number;
  readonly prefetch: number;
  /** A name for the logs and the AMQP connection. */
  readonly id: string;
  /**
   * Runs epochs and the offer sweep, over a SQLite store (one worker of the cluster). Over
   * PostgreSQL every worker contends for the leader lock instead, and this is not needed.
   */
  readonly leader: boolean;
  /** The service's settings, as the embedded broker takes them (epochSeconds, feePpm, limits...). */
  readonly settings?: Omit<BrokerConfigInput, 'dataDir' | 'operatorToken'>;
  readonly logger?: Logger;
  readonly clock?: Clock;
}

export interface ClusterWorker {
  readonly service: SettlementService;
  /** Whether this worker settles (over PostgreSQL: while it holds the leader lock). */
  readonly leadership: Leadership;
  readonly counts: Readonly<OutboxConsumerCounts>;
  /** Resolves with the reason when the AMQP connection is lost: the worker serves nothing more and should be restarted. */
  readonly lost: Promise<Error>;
  /** Stops consuming, waits for messages in flight to commit and be acknowledged, then closes. */
  close(): Promise<void>;
}

/** The store, with its PostgreSQL pool when it has one (for the leader lock). */
async function openSharedStore(url: string): Promise<{ store: Store; pool: pg.Pool | null; close(): Promise<void> }> {
  if (storeKindOf(url) === 'sqlite') return { ...(await openStore(url)), pool: null };
  const ledger = await openPostgresLedger(url);
  return { store: ledger.store, pool: ledger.pool, close: () => ledger.close() };
}

async function connectFirst(urls: readonly string[], id: string, logger: Logger): Promise<ChannelModel> {
  let last: unknown = new Error('no AMQP URL given');
  for (const url of urls) {
    try {
      return await connect(url, { clientProperties: { connection_name: `mqpay-worker ${id}` } });
    } catch (error) {
      last = error;
      logger.warn({ err: (error as Error).message, url: url.replace(/\/\/[^@]*@/, '//***@') }, 'AMQP node refused; trying the next');
    }
  }
  throw last;
}

function topologyError(error: unknown): Error {
  const text = error instanceof Error ? error.message : String(error);
  if (text.includes(EVENT_EXCHANGE)) return new Error(`${EVENT_EXCHANGE} is missing: enable the rabbitmq_event_exchange plugin on every node (subscriptions are seen through it)`);
  return error instanceof Error ? error : new Error(text);
}

export async function startClusterWorker(options: ClusterWorkerOptions): Promise<ClusterWorker> {
  // The broker's validated settings; a worker listens on nothing and serves no operator, so its
  // operator token is one nobody knows.
  const config = brokerConfig({ ...options.settings, dataDir: options.storeUrl, mqttPort: null, operatorToken: randomBytes(32).toString('hex') });
  const logger = (options.logger ?? createLogger(config.logLevel)).child({ worker: options.id });
  const clock = options.clock ?? systemClock;
  const opened = await openSharedStore(options.storeUrl);
  const connection = await connectFirst(options.amqpUrls, options.id, logger).catch(async (error: unknown) => {
    await opened.close();
    throw error;
  });
  try {
    const setup = await connection.createChannel();
    await declareTopology(setup, options.partitions).catch((error: unknown) => Promise.reject(topologyError(error)));
    await setup.close();
    const publishing = await connection.createConfirmChannel();
    const consuming = await connection.createChannel();
    const currency = await opened.store.reads.ledgerCurrency();
    const serviceOptions = serviceOptionsOf(config, currency);
    const transport = amqpTransport(publishing);
    const service = createSettlementService({
      store: opened.store, telemetry: new Telemetry(), clock, random: systemRandom,
      serviceKey: loadOrCreateServiceKeyFile(options.serviceKeyFile, systemRandom), transport, verifier: inlineVerifier, logger: logger.child({ module: 'settlement' }),
      options: { ...serviceOptions, storeShared: true },
    });
    const consumer = new OutboxConsumer(consuming, new OutboxGate(config, clock, service, transport, logger), logger);
    const watcher = new SubscriptionWatcher(consuming, service, logger);
    let closing = false;
    const lost = new Promise<Error>((resolve) => {
      connection.once('close', (error?: Error) => {
        if (!closing) resolve(error ?? new Error('AMQP connection closed'));
      });
    });
    connection.on('error', (error: Error) => logger.error({ err: error.message }, 'AMQP connection error'));
    const leadership = opened.pool === null ? fixedLeadership(service, options.leader) : lockedLeadership(opened.pool, service, logger);
    await consumer.start(options.partitions, options.prefetch);
    await watcher.start();
    logger.info({ partitions: options.partitions, prefetch: options.prefetch, leader: options.leader }, 'worker consuming');
    return {
      service, counts: consumer.counts, lost, leadership,
      async close() {
        closing = true;
        await leadership.close();
        await watcher.stop();
        await consumer.stop();
        await service.stop();
        await connection.close().catch(() => undefined);
        await opened.close();
      },
    };
  } catch (error) {
    await connection.close().catch(() => undefined);
    await opened.close();
    throw error;
  }
}
