// The MQTT topic <-> AMQP routing key mapping of RabbitMQ 3.10's MQTT plugin (`/` becomes `.`
// into AMQP, every `.` becomes `/` back to MQTT), and what a binding event of the event exchange
// asks of the workers. Device ids with `.` map back exactly [broker/cluster/worker/routing-key.ts].
import { describe, expect, it } from 'vitest';
import { bindingKeyOfFilter, routingKeyOfTopic, topicOfRoutingKey } from '../broker/cluster/worker/routing-key.js';
import { subscriptionActionOf } from '../broker/cluster/worker/subscriptions.js';
import { inboxFilter, inboxTopic, offerTopic, outboxTopic, parseDeliveredTopic } from '../shared/topics.js';

describe('cluster worker: topics and routing keys', () => {
  it('maps a device id with dots to the routing key the MQTT plugin uses, and back', () => {
    const topic = outboxTopic('cam.1.lobby', 'voucher-bin');
    expect(routingKeyOfTopic(topic)).toBe('mqpay.v1.d.cam.1.lobby.out.voucher-bin');
    expect(topicOfRoutingKey('mqpay.v1.d.cam.1.lobby.out.voucher-bin')).toEqual({ kind: 'outbox', device: 'cam.1.lobby', box: 'voucher-bin' });
    expect(topicOfRoutingKey('mqpay.v1.d.car.1.in.rpc')).toEqual({ kind: 'inbox', device: 'car.1', box: 'rpc' });
    expect(topicOfRoutingKey('mqpay.v1.offers.shop.2')).toEqual({ kind: 'offer', device: 'shop.2' });
    // Outside the scheme: no device, an unknown box, another root.
    expect(topicOfRoutingKey('mqpay.v1.d.out.rpc')).toBeNull();
    expect(topicOfRoutingKey('mqpay.v1.d.car.1.out.wallet')).toBeNull();
    expect(topicOfRoutingKey('other.v1.d.car.out.rpc')).toBeNull();
  });

  it('a device reads a delivered topic whose dots became levels as the topic it was published to', () => {
    expect(parseDeliveredTopic('mqpay/v1/d/car/1/in/rpc')).toEqual({ kind: 'inbox', device: 'car.1', box: 'rpc' });
    expect(parseDeliveredTopic(inboxTopic('car.1', 'rpc'))).toEqual({ kind: 'inbox', device: 'car.1', box: 'rpc' });
    expect(parseDeliveredTopic('mqpay/v1/offers/shop/2')).toEqual({ kind: 'offer', device: 'shop.2' });
    expect(parseDeliveredTopic('mqpay/v1/d/car/1/in')).toBeNull();
  });

  it('maps filters to binding keys (+ is *)', () => {
    expect(bindingKeyOfFilter(inboxFilter('a.b'))).toBe('mqpay.v1.d.a.b.in.#');
    expect(bindingKeyOfFilter('mqpay/v1/d/a.b/in/+')).toBe('mqpay.v1.d.a.b.in.*');
  });

  it('reads a binding event: own inbox -> redelivery, an offer topic -> the offer, anything else -> nothing', () => {
    const event = (destination: string, filter: string, source = 'amq.topic') => ({ source_name: source, destination_name: destination, routing_key: bindingKeyOfFilter(filter) });
    expect(subscriptionActionOf(event('mqtt-subscription-car.1qos1', inboxFilter('car.1')))).toEqual({ kind: 'inbox', device: 'car.1' });
    expect(subscriptionActionOf(event('mqtt-subscription-car.1qos0', inboxTopic('car.1', 'receipt-bin')))).toEqual({ kind: 'inbox', device: 'car.1' });
    expect(subscriptionActionOf(event('mqtt-subscription-car.1qos1', 'mqpay/v1/d/car.1/in/+'))).toEqual({ kind: 'inbox', device: 'car.1' });
    expect(subscriptionActionOf(event('mqtt-subscription-car.1qos1', offerTopic('shop.2')))).toEqual({ kind: 'offer', seller: 'shop.2' });
    // Only the RPC box (no receipts), another device's inbox, another exchange, a worker's own queue.
    expect(subscriptionActionOf(event('mqtt-subscription-car.1qos1', inboxTopic('car.1', 'rpc')))).toEqual({ kind: 'none' });
    expect(subscriptionActionOf(event('mqtt-subscription-car.1qos1', inboxFilter('car.2')))).toEqual({ kind: 'none' });
    expect(subscriptionActionOf(event('mqtt-subscription-car.1qos1', inboxFilter('car.1'), 'mqpay.outbox'))).toEqual({ kind: 'none' });
    expect(subscriptionActionOf(event('mqpay.outbox.0', inboxFilter('car.1')))).toEqual({ kind: 'none' });
    expect(subscriptionActionOf(undefined)).toEqual({ kind: 'none' });
  });
});
