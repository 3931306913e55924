// Consumes every outbox partition (single-active-consumer makes this worker active on some of
// them) and hands each device message to the settlement service through the outbox gate (rate
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

export class OutboxConsumer {
  readonly counts: OutboxConsumerCounts = { handled: 0, redelivered: 0, dropped: 0 };
  private readonly consumerTags: string[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private channel: Channel | null = null;

  constructor(private readonly gate: OutboxGate, private readonly logger: Logger) {}

  /**
   * Consumes partitions 0..partitions-1 on `channel`, at most `prefetch` unacknowledged messages
   * each. After a reconnect it is called again with the new channel; messages taken on the old
   * one are still committed, but their acks are lost with it and RabbitMQ redelivers them.
   */
  async start(channel: Channel, partitions: number, prefetch: number): Promise<void> {
    this.channel = channel;
    this.consumerTags.length = 0;
    await channel.prefetch(prefetch);
    for (let index = 0; index < partitions; index += 1) {
      const reply = await channel.consume(partitionQueue(index), (message) => {
        if (message !== null) this.track(this.handle(channel, message));
      }, { noAck: false });
      this.consumerTags.push(reply.consumerTag);
    }
  }

  /** Stops taking messages and waits for those in flight to be committed and acknowledged. */
  async stop(): Promise<void> {
    const channel = this.channel;
    for (const tag of this.consumerTags.splice(0)) await channel?.cancel(tag).catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
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
