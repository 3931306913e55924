// MQTT topics and AMQP routing keys as RabbitMQ 3.10's MQTT plugin maps them: every `/` of a
// topic becomes `.` in the routing key on amq.topic (and `+` becomes `*`), and every `.` of a
// routing key becomes `/` when a message is delivered to an MQTT client. A device id may contain
// `.` (shared/ids.ts), so `mqpay/v1/d/car.1/out/rpc` arrives as `mqpay.v1.d.car.1.out.rpc`, with
// the device over two words. The scheme's fixed words around the device make it unambiguous: it
// is mapped back, never forbidden [issue 15]. (Later RabbitMQ versions swap `.` and `/` instead;
// `parseDeliveredTopic` reads either.)
import { parseDeliveredTopic, type ParsedTopic } from '../../../shared/topics.js';

/** The routing key RabbitMQ's MQTT plugin gives an MQTT topic. */
export function routingKeyOfTopic(topic: string): string {
  return topic.replaceAll('/', '.');
}

/** What a routing key of amq.topic addresses (a device id's dots mapped back), or null outside the scheme. */
export function topicOfRoutingKey(routingKey: string): ParsedTopic | null {
  return parseDeliveredTopic(routingKey.replaceAll('.', '/'));
}

/** The AMQP binding key the MQTT plugin makes for an MQTT filter (`+` is `*`; `#` stays). */
export function bindingKeyOfFilter(filter: string): string {
  return routingKeyOfTopic(filter).split('.').map((word) => (word === '+' ? '*' : word)).join('.');
}

/**
 * The outbox binding: `mqpay.v1.d.#.out.*` (not `*`, one word, for the device: a dotted device id
 * spans several words). Only an outbox ends in `out.{box}`: an inbox ends in `in.{box}`.
 */
export const OUTBOX_BINDING_KEY = 'mqpay.v1.d.#.out.*';
