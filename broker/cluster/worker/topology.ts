// The AMQP topology every worker declares, idempotently, before it consumes [issue 15]:
//
//   amq.topic --(mqpay.v1.d.#.out.*)--> mqpay.outbox (x-consistent-hash) --> mqpay.outbox.0 .. N-1
//
// Device outbox messages arrive on amq.topic from RabbitMQ's MQTT plugin. The consistent-hash
// exchange hashes the routing key, which names the device and the box (`mqpay.v1.d.{device}.out.
// {box}`, routing-key.ts): every message of one device's box lands in one partition, in the order the device
// published it. That keeps a payer's vouchers (voucher-bin), its ticks (tick), a payee's receipts
// and each device's RPCs in order, which is what per-channel ordering needs [docs/DESIGN.md rule
// 5]; order across boxes is not kept (RabbitMQ 3.10's MQTT plugin puts the client id in no
// header, and the hash exchange can only hash the routing key or a header). An RPC that must
// follow a voucher (a close after the last payment) is ordered by the agent, which waits for the
// voucher's verdict, and the store's conditional updates judge any late voucher against the
// channel as it is [broker/store/sqlite/channels.ts setLatestVoucher].
//
// Partitions are quorum queues with single-active-consumer. Over PostgreSQL each worker consumes
// only the partitions it leases (partition-balancer.ts: a fair share each, so workers add
// throughput); over SQLite every worker consumes every partition. Either way RabbitMQ makes one
// consumer active per queue, and when that worker dies its partitions move to a survivor with the
// unacknowledged messages redelivered in order.
//
// Presence: the event exchange (rabbitmq_event_exchange) reports every binding RabbitMQ's MQTT
// plugin makes for a subscription; one quorum queue with single-active-consumer takes those, so
// that one worker answers each subscription (inbox redelivery, current offers). Its connection
// events go to a queue of each worker's own (subscriptions.ts), so that every worker knows which
// device each open connection is, and the settlement leader reports them (presence.ts).
import type { Channel } from 'amqplib';
import { OUTBOX_BINDING_KEY } from './routing-key.js';
import { MQTT_EXCHANGE } from '../rabbitmq/rabbit-names.js';

export const OUTBOX_EXCHANGE = 'mqpay.outbox';
export const EVENT_EXCHANGE = 'amq.rabbitmq.event';
export const SUBSCRIPTIONS_QUEUE = 'mqpay.subscriptions';
/** The routing key of the event exchange for a new binding (queue.bind, also MQTT SUBSCRIBE). */
export const BINDING_CREATED = 'binding.created';
/** The routing keys of the event exchange for a connection opened and closed (MQTT clients too). */
export const CONNECTION_CREATED = 'connection.created';
export const CONNECTION_CLOSED = 'connection.closed';

export const partitionQueue = (index: number): string => `${OUTBOX_EXCHANGE}.${index}`;

const PARTITION_ARGUMENTS = { 'x-queue-type': 'quorum', 'x-single-active-consumer': true } as const;

/** Declares (idempotently) the outbox exchange, its N partitions and the subscriptions queue. */
export async function declareTopology(channel: Channel, partitions: number): Promise<void> {
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
  await channel.assertExchange(OUTBOX_EXCHANGE, 'x-consistent-hash', { durable: true });
  await channel.bindExchange(OUTBOX_EXCHANGE, MQTT_EXCHANGE, OUTBOX_BINDING_KEY);
  for (let index = 0; index < partitions; index += 1) {
    await channel.assertQueue(partitionQueue(index), { durable: true, arguments: PARTITION_ARGUMENTS });
    // The binding key of a consistent-hash exchange is the partition's weight (points on the ring).
    await channel.bindQueue(partitionQueue(index), OUTBOX_EXCHANGE, '1');
  }
  // Fails with 404 (and a clear error from the worker) when rabbitmq_event_exchange is off.
  await channel.checkExchange(EVENT_EXCHANGE);
  await channel.assertQueue(SUBSCRIPTIONS_QUEUE, { durable: true, arguments: PARTITION_ARGUMENTS });
  await channel.bindQueue(SUBSCRIPTIONS_QUEUE, EVENT_EXCHANGE, BINDING_CREATED);
}
