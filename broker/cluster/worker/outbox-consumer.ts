// Consumes the outbox partitions assigned to this worker (all of them over SQLite; over PostgreSQL
// the ones it holds a lease on, partition-balancer.ts; single-active-consumer on the queues stays a
// safety net, so two consumers overlapping for a moment still give one active) and hands each device message to the settlement service through the outbox gate (rate
// and in-flight limits, as over aedes). A message is acknowledged only once the service has
// resolved it, i.e. once the change is committed and answered: persist before acknowledge
// [docs/DESIGN.md rule 5]. A worker killed before the ack leaves the message to RabbitMQ, which
// redelivers it to the partition's next consumer; the service answers it again idempotently
// (stored RPC answers, cumulative vouchers, latest receipts).
import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { OutboxGate } from '../../mqtt/outbox-gate.js';
import { partitionQueue } from './topology.js';
import { topicOfRoutingKey } from './routing-key.js';

export interface OutboxConsumerCounts {
  /** Messages handled and acknowledged. */
  handled: number;
  /** Of those, deliveries RabbitMQ marked as redelivered (a worker died before its ack). */
  redelivered: number;
  /** Messages whose routing key is no device outbox (acknowledged and dropped). */
  dropped: number;
}

/** The consumer tag of `workerId`'s consumer of partition `index` (unique per channel). */
export function partitionConsumerTag(workerId: string, index: number): string {
  return `mqpay-worker-${workerId}-p${index}`;
}

export class OutboxConsumer {
  readonly counts: OutboxConsumerCounts = { handled: 0, redelivered: 0, dropped: 0 };
  /** The partitions this worker should consume (consumed again on every new channel). */
  private readonly assigned = new Set<number>();
  private readonly consumerTags = new Map<number, string>();
  /** Messages taken and not yet acknowledged, per partition (a release waits for its own). */
  private readonly inFlight = new Map<number, Set<Promise<void>>>();
  private channel: Channel | null = null;
  /** start, assign, release and stop run one at a time, in call order. */
  private serial: Promise<unknown> = Promise.resolve();

  /**
   * `workerId` names this worker's consumers (`mqpay-worker-{id}-p{partition}`), so that
   * `rabbitmqctl list_consumers` shows which worker consumes which partition.
   */
  constructor(private readonly gate: OutboxGate, private readonly logger: Logger, private readonly workerId: string) {}

  /** The partitions assigned now, in order. */
  get partitions(): number[] {
    return [...this.assigned].sort((a, b) => a - b);
  }

  /**
   * Consumes the assigned partitions on `channel`, at most `prefetch` unacknowledged messages
   * each. After a reconnect it is called again with the new channel; messages taken on the old
   * one are still committed, but their acks are lost with it and RabbitMQ redelivers them.
   */
  start(channel: Channel, prefetch: number): Promise<void> {
    return this.inOrder(async () => {
      this.channel = channel;
      this.consumerTags.clear();
      await channel.prefetch(prefetch);
      for (const index of this.partitions) await this.consume(channel, index);
    });
  }

  /** Consumes partition `index` from now on (on this channel and every next one). */
  assign(index: number): Promise<void> {
    return this.inOrder(async () => {
      this.assigned.add(index);
      if (this.channel === null || this.consumerTags.has(index)) return;
      // A closed channel refuses: the next start() (after the reconnect) consumes it.
      await this.consume(this.channel, index).catch((error: unknown) => this.logger.warn({ err: (error as Error).message, partition: index }, 'could not consume a partition; will on the next connection'));
    });
  }

  /** Stops consuming partition `index` and waits for its messages in flight to be committed and acknowledged. */
  release(index: number): Promise<void> {
    return this.inOrder(async () => {
      this.assigned.delete(index);
      await this.cancel(index);
      await Promise.allSettled([...(this.inFlight.get(index) ?? [])]);
    });
  }

  /** Stops taking messages and waits for those in flight to be committed and acknowledged. */
  stop(): Promise<void> {
    return this.inOrder(async () => {
      for (const index of [...this.consumerTags.keys()]) await this.cancel(index);
      await Promise.allSettled([...this.inFlight.values()].flatMap((works) => [...works]));
    });
  }

  private inOrder(step: () => Promise<void>): Promise<void> {
    const next = this.serial.then(step);
    this.serial = next.catch(() => undefined);
    return next;
  }

  private async consume(channel: Channel, index: number): Promise<void> {
    const reply = await channel.consume(partitionQueue(index), (message) => {
      if (message !== null) this.track(index, this.handle(channel, message));
    }, { noAck: false, consumerTag: partitionConsumerTag(this.workerId, index) });
    this.consumerTags.set(index, reply.consumerTag);
  }

  private async cancel(index: number): Promise<void> {
    const tag = this.consumerTags.get(index);
    this.consumerTags.delete(index);
    if (tag !== undefined) await this.channel?.cancel(tag).catch(() => undefined);
  }

  private track(index: number, work: Promise<void>): void {
    let works = this.inFlight.get(index);
    if (works === undefined) {
      works = new Set();
      this.inFlight.set(index, works);
    }
    const set = works;
    set.add(work);
    void work.finally(() => set.delete(work));
  }

  private async handle(channel: Channel, message: ConsumeMessage): Promise<void> {
    const topic = topicOfRoutingKey(message.fields.routingKey);
    if (topic === null || topic.kind !== 'outbox') {
      // Only devices write outboxes (the auth backend's topic check), so this is a stray publish.
      this.counts.dropped += 1;
      this.logger.warn({ routing_key: message.fields.routingKey }, 'message on an outbox partition with no outbox topic; dropped');
      this.ack(channel, message);
      return;
    }
    // The gate never rejects: a refusal or a failure is answered to the device and logged.
    await this.gate.pass(topic.device, topic.box, new Uint8Array(message.content.buffer, message.content.byteOffset, message.content.byteLength));
    this.counts.handled += 1;
    if (message.fields.redelivered) this.counts.redelivered += 1;
    this.ack(channel, message);
  }

  /** A channel closed meanwhile cannot ack: RabbitMQ redelivers the message, answered again idempotently. */
  private ack(channel: Channel, message: ConsumeMessage): void {
    try {
      channel.ack(message);
    } catch (error) {
      this.logger.warn({ err: error }, 'ack after commit failed (channel closed); the message will be redelivered');
    }
  }
}
