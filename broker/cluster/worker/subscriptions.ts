// What aedes' `subscribe` event gave the embedded broker, over RabbitMQ: the event exchange
// (rabbitmq_event_exchange) reports each binding RabbitMQ's MQTT plugin makes for a SUBSCRIBE
// (amq.topic to the client's `mqtt-subscription-{client}qos{0,1}` queue, keyed by the filter).
// Chosen over the auth backend's topic check because it reports a subscription that exists
// (a check may be cached, or refused later), needs no call from the auth service to the workers,
// and reaches one worker (the active consumer of one queue) whichever node the device uses.
// A clean-session device makes its bindings at every connect, so every reconnect is seen. The
// connection events, on a queue of each worker's own, feed presence.ts.
//   - a device subscribing to its inbox gets its latest receipts again (inboxReady);
//   - a device subscribing to a seller's offers gets the current one from the store, since
//     RabbitMQ 3.10 keeps no retained message across nodes [broker/service/offers.ts].
import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { receiptReachingFilters } from '../../../shared/topics.js';
import type { SettlementService } from '../../service/service.js';
import { MQTT_EXCHANGE } from '../rabbitmq/rabbit-names.js';
import type { DevicePresence } from './presence.js';
import { CONNECTION_CLOSED, CONNECTION_CREATED, EVENT_EXCHANGE, SUBSCRIPTIONS_QUEUE } from './topology.js';
import { bindingKeyOfFilter, topicOfRoutingKey } from './routing-key.js';

/** The queue name prefix RabbitMQ's MQTT plugin gives a client's subscriptions. */
const MQTT_SUBSCRIPTION_QUEUE_PREFIX = 'mqtt-subscription-';

/** What one binding event asks of the service: a device's inbox, a seller's offer, or nothing. */
export type SubscriptionAction =
  | { readonly kind: 'inbox'; readonly device: string }
  | { readonly kind: 'offer'; readonly seller: string }
  | { readonly kind: 'none' };

const NONE: SubscriptionAction = { kind: 'none' };

function headerText(headers: Record<string, unknown> | undefined, name: string): string | null {
  const value = headers?.[name];
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return null;
}

/** The client id of an MQTT subscription queue (`mqtt-subscription-{client}qos1`), or null. */
function clientOfQueue(queue: string): string | null {
  if (!queue.startsWith(MQTT_SUBSCRIPTION_QUEUE_PREFIX)) return null;
  const client = queue.slice(MQTT_SUBSCRIPTION_QUEUE_PREFIX.length).replace(/qos[01]$/, '');
  return client.length > 0 ? client : null;
}

/** The binding keys of the filters that reach a device's receipts: `in/#`, `in/+`, `in/receipt-bin`. */
function receiptBindingKeys(device: string): string[] {
  return receiptReachingFilters(device).map(bindingKeyOfFilter);
}

/** Reads a `binding.created` event's headers into what the service must do. */
export function subscriptionActionOf(headers: Record<string, unknown> | undefined): SubscriptionAction {
  if (headerText(headers, 'source_name') !== MQTT_EXCHANGE) return NONE;
  const client = clientOfQueue(headerText(headers, 'destination_name') ?? '');
  const bindingKey = headerText(headers, 'routing_key');
  if (client === null || bindingKey === null) return NONE;
  // The client id is the device id (the auth backend checks it); the filter must be its own inbox.
  if (receiptBindingKeys(client).includes(bindingKey)) return { kind: 'inbox', device: client };
  const topic = topicOfRoutingKey(bindingKey);
  if (topic?.kind === 'offer') return { kind: 'offer', seller: topic.device };
  return NONE;
}

export class SubscriptionWatcher {
  private consumerTag: string | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private channel: Channel | null = null;

  constructor(private readonly service: SettlementService, private readonly presence: DevicePresence, private readonly logger: Logger) {}

  /** Consumes the presence queue's events on `channel` (again with a new one after a reconnect). */
  async start(channel: Channel): Promise<void> {
    this.channel = channel;
    const reply = await channel.consume(SUBSCRIPTIONS_QUEUE, (message) => {
      if (message === null) return;
      const work = this.handle(channel, message);
      this.inFlight.add(work);
      void work.finally(() => this.inFlight.delete(work));
    }, { noAck: false });
    this.consumerTag = reply.consumerTag;
    // This worker's own queue of connection events, gone with its connection.
    const own = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    for (const event of [CONNECTION_CREATED, CONNECTION_CLOSED]) await channel.bindQueue(own.queue, EVENT_EXCHANGE, event);
    await channel.consume(own.queue, (message) => {
      if (message !== null) this.onConnection(message);
    }, { noAck: true });
  }

  private onConnection(message: ConsumeMessage): void {
    const headers = message.properties.headers as Record<string, unknown> | undefined;
    const pid = headerText(headers, 'pid') ?? '';
    if (message.fields.routingKey === CONNECTION_CREATED) this.presence.opened(pid, headerText(headers, 'user') ?? '', headerText(headers, 'protocol') ?? '');
    if (message.fields.routingKey === CONNECTION_CLOSED) this.presence.closed(pid);
  }

  async stop(): Promise<void> {
    if (this.consumerTag !== null) await this.channel?.cancel(this.consumerTag).catch(() => undefined);
    this.consumerTag = null;
    await Promise.allSettled([...this.inFlight]);
  }

  private async handle(channel: Channel, message: ConsumeMessage): Promise<void> {
    const action = subscriptionActionOf(message.properties.headers as Record<string, unknown> | undefined);
    try {
      if (action.kind === 'inbox') await this.service.inboxReady(action.device);
      if (action.kind === 'offer') await this.service.serveOffer(action.seller);
    } catch (error) {
      // Like a redelivery on subscribe over aedes: logged; the device catches up at its next subscribe.
      this.logger.warn({ err: error, action: action.kind }, 'answering a subscription failed');
    }
    try {
      channel.ack(message);
    } catch (error) {
      this.logger.debug({ err: error }, 'subscription event not acknowledged (channel closed); it will be redelivered');
    }
  }
}
