// Names every process of an mqpay cluster agrees on: the vhost devices and workers share, the
// internal user the workers log in as over AMQP, the exchange the MQTT plugin publishes to.

/** The vhost of the MQTT plugin and of the workers' AMQP connections. */
export const CLUSTER_VHOST = 'mqpay';
/** The internal RabbitMQ user of the workers (see rabbit-config.ts for why not the HTTP backend). */
export const WORKER_USERNAME = 'mqpay-worker';
/** The MQTT plugin maps topics onto routing keys of this exchange. */
export const MQTT_EXCHANGE = 'amq.topic';

/** amqp://user:pass@host:port/vhost for a worker. */
export function workerAmqpUrl(host: string, port: number, password: string): string {
  return `amqp://${encodeURIComponent(WORKER_USERNAME)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(CLUSTER_VHOST)}`;
}
