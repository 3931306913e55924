// A worker's AMQP session: one connection to the first node of the list that accepts, the
// topology declared, a confirm channel for effects and a channel for consuming. When the
// connection is lost (its node stopped), the worker connects again, to the next node first,
// with growing pauses, and consumes again: the messages it held unacknowledged went back to their
// partitions meanwhile, to the next active consumer (maybe this worker again), and are judged
// again idempotently. It never gives up: a worker without RabbitMQ has nothing else to do.
import { connect, type Channel, type ChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { AMQP_RECONNECT_MS_MAX, AMQP_RECONNECT_MS_MIN } from '../../limits.js';
import type { AmqpTransport } from './amqp-transport.js';
import type { OutboxConsumer } from './outbox-consumer.js';
import type { SubscriptionWatcher } from './subscriptions.js';
import { declareTopology, EVENT_EXCHANGE } from './topology.js';

export interface AmqpSessionOptions {
  readonly urls: readonly string[];
  readonly id: string;
  readonly partitions: number;
  readonly prefetch: number;
}

export interface AmqpSessionParts {
  readonly transport: AmqpTransport;
  readonly consumer: OutboxConsumer;
  readonly watcher: SubscriptionWatcher;
}

const hideSecret = (url: string): string => url.replace(/\/\/[^@]*@/, '//***@');

function topologyError(error: unknown): Error {
  const text = error instanceof Error ? error.message : String(error);
  if (text.includes(EVENT_EXCHANGE)) return new Error(`${EVENT_EXCHANGE} is missing: enable the rabbitmq_event_exchange plugin on every node (subscriptions are seen through it)`);
  return error instanceof Error ? error : new Error(text);
}

export class AmqpSession {
  private connection: ChannelModel | null = null;
  /** Where the next connect starts in the URL list (moved on past a lost node). */
  private next = 0;
  private closing = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: AmqpSessionOptions, private readonly parts: AmqpSessionParts, private readonly logger: Logger) {
    if (options.urls.length === 0) throw new RangeError('an AMQP session needs at least one URL');
  }

  /** Connects (to the first node that accepts), declares the topology and consumes; throws if no node accepts. */
  async open(): Promise<void> {
    const connection = await this.connectAny();
    if (this.closing) {
      // close() ran while this (re)connect was under way: nothing may consume again.
      await connection.close().catch(() => undefined);
      return;
    }
    try {
      await this.attach(connection);
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw topologyError(error);
    }
  }

  /** Stops consuming, waits for what is in flight to be committed and acknowledged, then disconnects. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.parts.watcher.stop();
    await this.parts.consumer.stop();
    const connection = this.connection;
    this.connection = null;
    this.parts.transport.use(null);
    await connection?.close().catch(() => undefined);
  }

  private async connectAny(): Promise<ChannelModel> {
    const { urls, id } = this.options;
    let last: unknown = null;
    for (let tried = 0; tried < urls.length; tried += 1) {
      const url = urls[(this.next + tried) % urls.length] ?? '';
      try {
        const connection = await connect(url, { clientProperties: { connection_name: `mqpay-worker ${id}` } });
        // From the start: a channel the server closes (a missing exchange while the topology is
        // declared, a node going away) reaches the connection, and an unheard 'error' would crash.
        connection.on('error', (error: Error) => this.logger.error({ err: error.message }, 'AMQP connection error'));
        this.next = (this.next + tried) % urls.length;
        return connection;
      } catch (error) {
        last = error;
        this.logger.warn({ err: (error as Error).message, url: hideSecret(url) }, 'AMQP node refused; trying the next');
      }
    }
    throw last instanceof Error ? last : new Error('no AMQP node accepted');
  }

  private async attach(connection: ChannelModel): Promise<void> {
    const setup = this.heard(await connection.createChannel());
    await declareTopology(setup, this.options.partitions);
    await setup.close();
    const publishing = this.heard(await connection.createConfirmChannel());
    const consuming = this.heard(await connection.createChannel());
    connection.once('close', () => this.lost(connection));
    this.connection = connection;
    this.parts.transport.use(publishing);
    await this.parts.consumer.start(consuming, this.options.prefetch);
    await this.parts.watcher.start(consuming);
  }

  /** A channel's 'error' (the server closed it) is logged; the failed call rejects on its own. */
  private heard<C extends Channel>(channel: C): C {
    channel.on('error', (error: Error) => this.logger.warn({ err: error.message }, 'AMQP channel closed by the server'));
    return channel;
  }

  private lost(connection: ChannelModel): void {
    if (this.connection !== connection || this.closing) return;
    this.connection = null;
    this.parts.transport.use(null);
    // The lost node goes to the end of the list: the next try starts with another.
    this.next = (this.next + 1) % this.options.urls.length;
    this.logger.warn('AMQP connection lost; connecting again (unacknowledged messages go back to their partitions)');
    this.reconnect(AMQP_RECONNECT_MS_MIN);
  }

  private reconnect(pauseMs: number): void {
    if (this.closing) return;
    this.timer = setTimeout(() => {
      this.open().then(() => this.logger.warn('AMQP connection back; consuming again'), (error: unknown) => {
        this.logger.warn({ err: (error as Error).message, retry_ms: Math.min(pauseMs * 2, AMQP_RECONNECT_MS_MAX) }, 'AMQP reconnect failed');
        this.reconnect(Math.min(pauseMs * 2, AMQP_RECONNECT_MS_MAX));
      });
    }, pauseMs);
  }
}
