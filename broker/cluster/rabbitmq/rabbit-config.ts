// The configuration of one mqpay RabbitMQ node (rabbitmq.conf, cuttlefish format) and its plugins.
//
// Who authenticates whom:
// - Devices and operators log in over MQTT; RabbitMQ asks mqpay's HTTP auth service
//   (broker/cluster/auth/) for the user, vhost, resource and topic checks, so the token check and
//   the ACL stay mqpay's [docs/DESIGN.md rule 7] [docs/DESIGN.md rule 8].
// - Workers log in over AMQP as one internal user (`auth_backends.1 = internal`), created on the
//   cluster's first boot by `default_user`. Why not the HTTP backend for them too: RabbitMQ checks
//   topic permissions on every AMQP publish to amq.topic with a small per-channel cache, and a
//   worker publishes to thousands of device topics, so each verdict would cost an HTTP round
//   trip; the internal backend answers in-process. A device name never reaches the internal
//   backend's users table (it has only the worker), so devices always fall through to HTTP.
// - `loopback_users = none`: the worker user may connect from anywhere the listener allows; the
//   listeners here bind 127.0.0.1 only.
import { CLUSTER_VHOST, WORKER_USERNAME } from './rabbit-names.js';

export interface RabbitConfigInput {
  readonly amqpPort: number;
  readonly mqttPort: number;
  /** Base URL of mqpay's auth service, e.g. http://127.0.0.1:5000/auth (no trailing slash). */
  readonly authBaseUrl: string;
  /** The internal worker user's password (random per cluster, kept in the cluster's directory). */
  readonly workerPassword: string;
  readonly host?: string;
}

/**
 * Plugins: MQTT for devices, the HTTP auth backend, the consistent-hash exchange for workers, and
 * the event exchange, whose binding events tell the workers a device subscribed
 * (broker/cluster/worker/subscriptions.ts).
 */
export const ENABLED_PLUGINS = '[rabbitmq_mqtt,rabbitmq_auth_backend_http,rabbitmq_consistent_hash_exchange,rabbitmq_event_exchange].\n';

// Cuttlefish takes a value to the end of the line: a newline in one would inject a setting.
function checkValue(name: string, value: string): string {
  if (/[\r\n]/.test(value) || value.length === 0) throw new Error(`rabbitmq.conf ${name} must be one non-empty line`);
  return value;
}

export function rabbitConfig(input: RabbitConfigInput): string {
  const host = input.host ?? '127.0.0.1';
  const base = checkValue('auth base URL', input.authBaseUrl.replace(/\/+$/, ''));
  const lines = [
    `listeners.tcp.1 = ${host}:${input.amqpPort}`,
    `mqtt.listeners.tcp.1 = ${host}:${input.mqttPort}`,
    'mqtt.allow_anonymous = false',
    `mqtt.vhost = ${CLUSTER_VHOST}`,
    'mqtt.exchange = amq.topic',
    `default_vhost = ${CLUSTER_VHOST}`,
    `default_user = ${WORKER_USERNAME}`,
    `default_pass = ${checkValue('worker password', input.workerPassword)}`,
    'default_permissions.configure = .*',
    'default_permissions.read = .*',
    'default_permissions.write = .*',
    'default_user_tags.administrator = false',
    'loopback_users = none',
    'auth_backends.1 = internal',
    'auth_backends.2 = http',
    'auth_http.http_method = post',
    `auth_http.user_path = ${base}/user`,
    `auth_http.vhost_path = ${base}/vhost`,
    `auth_http.resource_path = ${base}/resource`,
    `auth_http.topic_path = ${base}/topic`,
    'log.console = false',
    'log.file.level = info',
  ];
  return lines.join('\n') + '\n';
}
