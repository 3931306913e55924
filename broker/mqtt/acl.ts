// The ACL [docs/DESIGN.md rule 7]. A device publishes only to its own outbox and subscribes only to
// its own inbox (and the offers of a named seller; every seller's only if the operator allows it);
// operators only read mqpay/v1/ops/# and the offers. Everything else, `$SYS/#` and wildcards over
// other devices included, is a violation: logged with its reason and counted. A refused publish
// closes the connection (aedes closes it when the hook fails, [MQTT-3.3.5-2]); a refused
// subscription is answered with the SUBACK failure code 0x80 [MQTT-3.9.3-1] and the connection
// stays, so a client learns which filter was wrong.
import { parseTopic, inboxBoxesFilter, inboxFilter, TOPIC_ROOT, type OutboxKind } from '../../shared/topics.js';
import type { Role } from './roles.js';

export type PublishDecision = { readonly allowed: true; readonly device: string; readonly box: OutboxKind } | { readonly allowed: false; readonly reason: string };

export function decidePublish(role: Role | undefined, packet: { readonly topic: string; readonly retain?: boolean | undefined }): PublishDecision {
  if (role === undefined) return { allowed: false, reason: 'no authenticated client' };
  if (role.kind === 'operator') return { allowed: false, reason: 'operators are read-only' };
  if (packet.retain === true) return { allowed: false, reason: 'devices may not retain messages' };
  const topic = parseTopic(packet.topic);
  if (topic === null || topic.kind !== 'outbox' || topic.device !== role.device) return { allowed: false, reason: 'outside own outbox' };
  return { allowed: true, device: role.device, box: topic.box };
}

/**
 * decidePublish, remembered per client role and topic: an allowed topic is one of the device's
 * own outbox boxes, a handful, so each is parsed once rather than once per message. Refusals are
 * not remembered (they close the connection).
 */
const allowedTopics = new WeakMap<Role, Map<string, PublishDecision>>();

export function decidePublishRemembered(role: Role | undefined, packet: { readonly topic: string; readonly retain?: boolean | undefined }): PublishDecision {
  if (role === undefined || packet.retain === true) return decidePublish(role, packet);
  const known = allowedTopics.get(role)?.get(packet.topic);
  if (known !== undefined) return known;
  const decision = decidePublish(role, packet);
  if (decision.allowed) {
    const topics = allowedTopics.get(role) ?? new Map<string, PublishDecision>();
    topics.set(packet.topic, decision);
    allowedTopics.set(role, topics);
  }
  return decision;
}

const OFFERS_ALL = `${TOPIC_ROOT}/offers/+`;
const OPS_FILTERS = new Set([`${TOPIC_ROOT}/ops/#`, `${TOPIC_ROOT}/ops/+`, `${TOPIC_ROOT}/ops/settlements`, `${TOPIC_ROOT}/ops/events`]);

export type SubscribeDecision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

const ALLOWED: SubscribeDecision = { allowed: true };

/**
 * Offers are readable per seller (`mqpay/v1/offers/{device}`, a named device) but not
 * enumerable: the wildcard over every seller only when the operator allows it
 * (`offersWildcard`), so no device learns who else is enrolled from the offers alone.
 */
export function decideSubscribe(role: Role | undefined, filter: string, offersWildcard = false): SubscribeDecision {
  if (role === undefined) return { allowed: false, reason: 'no authenticated client' };
  if (parseTopic(filter)?.kind === 'offer') return ALLOWED;
  if (filter === OFFERS_ALL) return offersWildcard || role.kind === 'operator' ? ALLOWED : { allowed: false, reason: 'the offers of every seller are not listed (offersWildcard is off)' };
  if (role.kind === 'operator') return OPS_FILTERS.has(filter) ? ALLOWED : { allowed: false, reason: `operators read only ${TOPIC_ROOT}/ops/#` };
  // The whole inbox (#), every box at one level (+), or one box by name.
  if (filter === inboxFilter(role.device) || filter === inboxBoxesFilter(role.device)) return ALLOWED;
  const topic = parseTopic(filter);
  if (topic !== null && topic.kind === 'inbox' && topic.device === role.device) return ALLOWED;
  return { allowed: false, reason: `outside own inbox ${inboxFilter(role.device)}` };
}


export function subscribeAllowed(role: Role | undefined, filter: string, offersWildcard = false): boolean {
  return decideSubscribe(role, filter, offersWildcard).allowed;
}

/** A will is published by the broker on the device's behalf, so it obeys the publish ACL. */
export function willAllowed(clientId: string, will: { readonly topic: string; readonly retain?: boolean | undefined } | undefined | null): boolean {
  if (will === undefined || will === null) return true;
  return decidePublish({ kind: 'device', device: clientId }, will).allowed;
}

