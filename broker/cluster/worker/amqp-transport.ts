// The service's transport port over AMQP: effects go to amq.topic under the routing key RabbitMQ's
// MQTT plugin gives their topic, so the devices' MQTT subscriptions receive them on any node.
// QoS 1 effects are persistent and resolve on the publisher confirm; QoS 0 ones (voucher verdicts
// and forwards by default) are transient and not waited for [broker/service/ports.ts]. The
// channel is replaced when the worker reconnects (amqp-session.ts); while there is none, effects
// are dropped like aedes drops them after close: devices re-read what they missed (stored RPC
// answers, cumulative vouchers re-sent, latest receipts on subscribe).
import type { ConfirmChannel } from 'amqplib';
import type { TransportPort } from '../../service/ports.js';
import { MQTT_EXCHANGE } from '../rabbitmq/rabbit-names.js';
import { routingKeyOfTopic } from './routing-key.js';

/** The MQTT plugin reads the QoS a message is delivered at from this header. */
const QOS_HEADER = 'x-mqtt-publish-qos';

export class AmqpTransport implements TransportPort {
  private channel: ConfirmChannel | null = null;

  /** The channel to publish on from now on (null: none, the connection is down). */
  use(channel: ConfirmChannel | null): void {
    this.channel = channel;
    channel?.once('close', () => {
      if (this.channel === channel) this.channel = null;
    });
  }

  publish(topic: string, payload: Uint8Array, options: { retain?: boolean; qos?: 0 | 1 } = {}): Promise<void> {
    // RabbitMQ 3.10 keeps no retained message across nodes (and none for AMQP publishes):
    // offers are served from the store when a device subscribes (subscriptions.ts), so an
    // empty retained publish, which would only clear a retained copy, has nothing to do here.
    if (options.retain === true && payload.byteLength === 0) return Promise.resolve();
    const channel = this.channel;
    if (channel === null) return Promise.resolve();
    const qos = options.qos ?? 1;
    const content = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    const properties = { persistent: qos === 1, headers: { [QOS_HEADER]: qos } };
    if (qos === 0) {
      channel.publish(MQTT_EXCHANGE, routingKeyOfTopic(topic), content, properties);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      channel.publish(MQTT_EXCHANGE, routingKeyOfTopic(topic), content, properties, (error) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve()));
    });
  }
}
