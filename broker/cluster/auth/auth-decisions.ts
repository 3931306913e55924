// What mqpay answers RabbitMQ's vhost, resource and topic checks (rabbitmq_auth_backend_http).
// RabbitMQ asks them only for users the same backend logged in (devices and operators; the
// workers' internal user never reaches HTTP), so the username names the role; the client id it
// sends is the connection's own.
//
// - vhost: only mqpay's.
// - resource: what the MQTT plugin needs and nothing else: a client's own subscription queues
//   (`mqtt-subscription-<clientid>qos0|qos1`: configure, read, write), amq.topic to bind from
//   (read) and, for devices only, to publish to (write). Operators are read-only [docs/DESIGN.md rule 7].
// - topic: the embedded broker's ACL (decidePublish/decideSubscribe) on the MQTT topic rebuilt
//   from the routing key (topic-of-routing-key.ts).
import { isDeviceId } from '../../../shared/ids.js';
import { decidePublish, decideSubscribe } from '../../mqtt/acl.js';
import { OPERATOR_USERNAME, type Role } from '../../mqtt/roles.js';
import { CLUSTER_VHOST, MQTT_EXCHANGE, WORKER_USERNAME } from '../rabbitmq/rabbit-names.js';
import { topicOfRoutingKey } from './topic-of-routing-key.js';

export type Decision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

const ALLOW: Decision = { allowed: true };
const deny = (reason: string): Decision => ({ allowed: false, reason });

export interface AuthzRequest {
  readonly username: string;
  readonly vhost: string;
  /** The MQTT client id RabbitMQ names (the connection's own), when it sends one. */
  readonly clientId?: string | undefined;
}

/**
 * The workers' internal user is never a device here, even if a device took that id: the name
 * means the internal backend's user on every node, and the two must not be confused.
 */
export function roleOfUsername(username: string): Role | undefined {
  if (username === OPERATOR_USERNAME) return { kind: 'operator' };
  if (username === WORKER_USERNAME) return undefined;
  return isDeviceId(username) ? { kind: 'device', device: username } : undefined;
}

/** A device's client id is its id (checked at login); RabbitMQ names it in every later check. */
function principal(request: AuthzRequest): { role: Role; clientId: string } | Decision {
  const role = roleOfUsername(request.username);
  if (role === undefined) return deny(`user ${JSON.stringify(request.username)} is not a device or the operator`);
  if (request.vhost !== CLUSTER_VHOST) return deny(`vhost ${JSON.stringify(request.vhost)} is not ${CLUSTER_VHOST}`);
  const clientId = request.clientId ?? (role.kind === 'device' ? role.device : undefined);
  if (clientId === undefined) return deny('no client id');
  if (role.kind === 'device' && clientId !== role.device) return deny(`client id ${JSON.stringify(clientId)} is not device ${role.device}`);
  return { role, clientId };
}

const isDecision = (value: unknown): value is Decision => typeof value === 'object' && value !== null && 'allowed' in value;

export function decideVhost(request: AuthzRequest): Decision {
  const who = principal(request);
  return isDecision(who) ? who : ALLOW;
}

export interface ResourceRequest extends AuthzRequest {
  readonly resource: string;
  readonly name: string;
  readonly permission: string;
}

const subscriptionQueues = (clientId: string): readonly string[] => [`mqtt-subscription-${clientId}qos0`, `mqtt-subscription-${clientId}qos1`];

export function decideResource(request: ResourceRequest): Decision {
  const who = principal(request);
  if (isDecision(who)) return who;
  if (request.resource === 'queue') {
    if (!subscriptionQueues(who.clientId).includes(request.name)) return deny(`queue ${request.name} is not this client's subscription queue`);
    return ['configure', 'read', 'write'].includes(request.permission) ? ALLOW : deny(`permission ${request.permission} on a queue`);
  }
  if (request.resource === 'exchange' && request.name === MQTT_EXCHANGE) {
    if (request.permission === 'read') return ALLOW;
    if (request.permission === 'write') return who.role.kind === 'device' ? ALLOW : deny('operators are read-only');
    return deny(`permission ${request.permission} on ${MQTT_EXCHANGE}`);
  }
  return deny(`${request.resource} ${request.name} is not for MQTT clients`);
}

export interface TopicRequest extends AuthzRequest {
  readonly name: string;
  readonly permission: string;
  readonly routingKey: string;
}

/**
 * A device's multi-level wildcard (`#`, from MQTT `#`) is refused in the cluster: the plugin keeps
 * the dots of device ids inside routing keys, so device `cam`'s `mqpay.v1.d.cam.in.#` would also
 * match the keys of devices `cam.in` and `cam.in.2` (their outboxes and inboxes). One level (`*`,
 * from MQTT `+`: `in/+`, what devices subscribe to since v3.1) cannot: a key under
 * `mqpay.v1.d.cam.in.` with exactly one more word is device `cam`'s own inbox box, since every
 * other device's keys have at least two words after its id. So dotted ids are mapped, not
 * forbidden [docs/PROTOCOL.md "Transport and topics"].
 */
export function reachesBeyondOwnTopics(routingKey: string): boolean {
  return routingKey.split('.').includes('#');
}

export function decideTopic(request: TopicRequest, offersWildcard: boolean): Decision & { readonly topic?: string } {
  const who = principal(request);
  if (isDecision(who)) return who;
  if (request.name !== MQTT_EXCHANGE) return deny(`exchange ${request.name} is not ${MQTT_EXCHANGE}`);
  const topic = topicOfRoutingKey(request.routingKey);
  if (request.permission === 'write') {
    const decision = decidePublish(who.role, { topic });
    return decision.allowed ? { allowed: true, topic } : { allowed: false, reason: decision.reason, topic };
  }
  if (request.permission === 'read') {
    if (who.role.kind === 'device' && reachesBeyondOwnTopics(request.routingKey)) return { ...deny('a device subscribes to its inbox with in/+ in the cluster: # would reach the topics of dotted device ids'), topic };
    return { ...decideSubscribe(who.role, topic, offersWildcard), topic };
  }
  return deny(`permission ${request.permission} on a topic`);
}
