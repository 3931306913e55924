// The ACL [docs/DESIGN.md rule 7]. A device publishes only to its own outbox and subscribes only to
// its own inbox (and the offers of a named seller; every seller's only if the operator allows it);
// operators only read mqpay/v1/ops/# and the offers. Everything else,
// `$SYS/#` and wildcards over other devices included, is a violation: logged, counted, and the
// connection closed (aedes closes it when a hook fails, [MQTT-3.3.5-2]).
import { parseTopic, inboxFilter, TOPIC_ROOT, type OutboxKind } from '../../shared/topics.js';
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

const OFFERS_ALL = `${TOPIC_ROOT}/offers/+`;
const OPS_FILTERS = new Set([`${TOPIC_ROOT}/ops/#`, `${TOPIC_ROOT}/ops/+`, `${TOPIC_ROOT}/ops/settlements`, `${TOPIC_ROOT}/ops/events`]);

/**
 * Offers are readable per seller (`mqpay/v1/offers/{device}`, a named device) but not
 * enumerable: the wildcard over every seller only when the operator allows it
 * (`offersWildcard`), so no device learns who else is enrolled from the offers alone.
 */
export function subscribeAllowed(role: Role | undefined, filter: string, offersWildcard = false): boolean {
  if (role === undefined) return false;
  if (parseTopic(filter)?.kind === 'offer') return true;
  if (filter === OFFERS_ALL) return offersWildcard || role.kind === 'operator';
  if (role.kind === 'operator') return OPS_FILTERS.has(filter);
  if (filter === inboxFilter(role.device)) return true;
  const topic = parseTopic(filter);
  return topic !== null && topic.kind === 'inbox' && topic.device === role.device;
}

/** A will is published by the broker on the device's behalf, so it obeys the publish ACL. */
export function willAllowed(clientId: string, will: { readonly topic: string; readonly retain?: boolean | undefined } | undefined | null): boolean {
  if (will === undefined || will === null) return true;
  return decidePublish({ kind: 'device', device: clientId }, will).allowed;
}

