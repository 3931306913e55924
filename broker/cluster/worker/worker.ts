// One cluster worker (`mqpay worker`): the settlement service over a shared store, fed by the
// outbox partitions of a RabbitMQ cluster and answering through amq.topic [issue 15]. Several run
// at once; over PostgreSQL each leases a fair share of the partitions and consumes only those
// (partition-balancer.ts), over SQLite each consumes every partition; single-active-consumer
// keeps one of them active per partition either way. Only the leader runs epochs (and the offer sweep): over PostgreSQL the
// holder of the leader lock, over SQLite the one worker started with `leader: true` (leadership.ts).
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { createLogger, serviceOptionsOf, systemClock, systemRandom } from '../../app.js';
import { brokerConfig, type BrokerConfigInput } from '../../config.js';
import { OutboxGate } from '../../mqtt/outbox-gate.js';
import { publishOpsTopics } from '../../operator/ops-topics.js';
import type { Clock } from '../../service/ports.js';
import { loadOrCreateServiceKeyFile } from '../../service-key.js';
import { createSettlementService, type SettlementService } from '../../service/service.js';
import { Telemetry } from '../../service/telemetry.js';
import { inlineVerifier } from '../../service/vouchers/verify-pool.js';
import { openStore } from '../../store/open-store.js';
import { serveClusterOperator, type ClusterOperatorServer } from '../operator/operator-server.js';
import { fixedLeadership, lockedLeadership, type Leadership } from './leadership.js';
import { AmqpSession } from './amqp-session.js';
import { AmqpTransport } from './amqp-transport.js';
import { OutboxConsumer, type OutboxConsumerCounts } from './outbox-consumer.js';
import { allPartitions, leasedPartitions, type PartitionAssignment } from './partition-balancer.js';
import { DevicePresence } from './presence.js';
import { SubscriptionWatcher } from './subscriptions.js';

export interface ClusterWorkerOptions {
  /** AMQP URLs of the cluster's nodes; the first that accepts is used, the next ones when it is lost. */
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
  /** Serves the operator API and dashboard over the shared ledger on this port (0: a free one), with this token. */
  readonly operatorHttp?: { readonly port: number; readonly operatorToken: string; readonly host?: string };
}

export interface ClusterWorker {
  readonly service: SettlementService;
  /** Whether this worker settles (over PostgreSQL: while it holds the leader lock). */
  readonly leadership: Leadership;
  readonly counts: Readonly<OutboxConsumerCounts>;
  /** The AMQP connection, re-made when its node is lost. */
  readonly session: AmqpSession;
  /** The outbox partitions this worker consumes now (over PostgreSQL: those it leases). */
  readonly partitions: PartitionAssignment;
  /** The operator API's URL (null without operatorHttp). */
  readonly operatorUrl: string | null;
  /** Stops consuming, waits for messages in flight to commit and be acknowledged, then closes. */
  close(): Promise<void>;
}

export async function startClusterWorker(options: ClusterWorkerOptions): Promise<ClusterWorker> {
  // The broker's validated settings; a worker listens for no MQTT, and its operator API (if any)
  // takes the token it is given, so the configuration's is one nobody knows.
  const config = brokerConfig({ ...options.settings, dataDir: options.storeUrl, mqttPort: null, operatorToken: randomBytes(32).toString('hex') });
  const logger = (options.logger ?? createLogger(config.logLevel)).child({ worker: options.id });
  const clock = options.clock ?? systemClock;
  const opened = await openStore(options.storeUrl);
  let session: AmqpSession | null = null;
  let assignment: PartitionAssignment | null = null;
  let operator: ClusterOperatorServer | null = null;
  // What a start that fails part-way must undo too: the leader lock (on its own connection) and
  // the epoch scheduler would otherwise keep the process alive, and keep other workers from settling.
  let leadership: Leadership | null = null;
  let settlement: { stop(): Promise<void> } | null = null;
  let stopOps: (() => void) | null = null;
  try {
    const currency = await opened.store.reads.ledgerCurrency();
    const transport = new AmqpTransport();
    const service = createSettlementService({
      store: opened.store, telemetry: new Telemetry(), clock, random: systemRandom,
      serviceKey: loadOrCreateServiceKeyFile(options.serviceKeyFile, systemRandom), transport, verifier: inlineVerifier, logger: logger.child({ module: 'settlement' }),
      options: { ...serviceOptionsOf(config, currency), storeShared: true },
    });
    settlement = service;
    // Device connects and disconnects are reported by the settlement leader only (one report each).
    const presence = new DevicePresence(service.telemetry, clock, () => leadership?.leading === true);
    const consumer = new OutboxConsumer(new OutboxGate(config, clock, service, transport, logger), logger, options.id);
    const amqp = new AmqpSession({ urls: options.amqpUrls, id: options.id, partitions: options.partitions, prefetch: options.prefetch }, { transport, consumer, watcher: new SubscriptionWatcher(service, presence, logger) }, logger);
    await amqp.open();
    session = amqp;
    const leases = opened.pool === null ? await allPartitions(consumer, options.partitions) : await leasedPartitions(opened.pool, consumer, options.partitions, logger);
    assignment = leases;
    // Settlements (the leader's) and the other operator events go to mqpay/v1/ops/*, as from the embedded broker.
    const stopOpsTopics = publishOpsTopics(service.telemetry, transport, logger.child({ module: 'ops' }));
    stopOps = stopOpsTopics;
    leadership = opened.pool === null ? fixedLeadership(service, options.leader) : await lockedLeadership(opened.pool, service, logger);
    const lead = leadership;
    if (options.operatorHttp !== undefined) {
      operator = await serveClusterOperator({
        service, reads: opened.operatorReads, currency, operatorToken: options.operatorHttp.operatorToken, clock, logger,
        online: () => presence.online, port: options.operatorHttp.port, ...(options.operatorHttp.host === undefined ? {} : { host: options.operatorHttp.host }),
      });
    }
    const http = operator;
    logger.info({ partitions: options.partitions, partitions_held: leases.held(), prefetch: options.prefetch, leader: options.leader }, 'worker consuming');
    return {
      service, counts: consumer.counts, leadership: lead, session: amqp, partitions: leases, operatorUrl: http?.url ?? null,
      async close() {
        await http?.close();
        await lead.close();
        await leases.stop();
        await amqp.close();
        // The leases go only once the consumer has stopped and its messages are acknowledged.
        await leases.close();
        await service.stop();
        stopOpsTopics();
        await opened.close();
      },
    };
  } catch (error) {
    await operator?.close();
    await leadership?.close().catch(() => undefined);
    await session?.close();
    await assignment?.close();
    await settlement?.stop().catch(() => undefined);
    stopOps?.();
    await opened.close();
    throw error;
  }
}
