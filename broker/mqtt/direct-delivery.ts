// Direct delivery of the service's QoS 0 inbox messages (voucher verdicts and forwards, receipt
// forwards): the MQTT PUBLISH is built here and written straight to the one connection that can
// receive it, past aedes' publish (packet objects, the mqemitter queue, the subscription matcher,
// a setImmediate per delivery, mqtt-packet's writer). On the voucher path that routing cost more
// CPU than the rest of the relay.
//
// It is exact, not a guess, because of the ACL [docs/DESIGN.md rule 7]: only the device itself
// may subscribe to its inbox, and only with `in/#`, `in/+` or the box's own topic; operators read
// only ops and offers. So a device's inbox topic has at most one subscriber, the connection
// aedes holds under the device's id, and this module checks that it is connected and subscribed
// with one of those three filters. In every other case (offline, not yet subscribed, QoS 1, a
// retained message, an old protocol level) it returns false and the caller publishes through
// aedes as before. The write goes to the same stream aedes writes to (the packet-size guard), so
// coalescing and the slow-reader bound hold for it too [docs/DESIGN.md rule 15]. What it skips:
// aedes' 'publish' event for these messages (nothing in the broker listens to it).
import type { Aedes, Client } from 'aedes';
import { TOPIC_ROOT } from '../../shared/topics.js';
import { clientsOf } from './presence.js';
import { roleOf } from './roles.js';

const INBOX_PREFIX = `${TOPIC_ROOT}/d/`;
const INBOX_LEVEL = '/in/';
/** MQTT 3.1.1 PUBLISH, QoS 0, no DUP, no RETAIN [MQTT-3.3.1]. */
const PUBLISH_QOS0_HEADER = 0x30;
/** The protocol levels whose PUBLISH has this layout: 3 (MQTT 3.1) and 4 (MQTT 3.1.1). */
const PLAIN_PUBLISH_LEVELS: ReadonlySet<number> = new Set([3, 4]);

/** The device whose inbox `topic` is (`mqpay/v1/d/{device}/in/{box}`), or null. */
export function inboxDeviceOf(topic: string): string | null {
  if (!topic.startsWith(INBOX_PREFIX)) return null;
  const end = topic.indexOf(INBOX_LEVEL, INBOX_PREFIX.length);
  if (end <= INBOX_PREFIX.length || topic.indexOf('/', end + INBOX_LEVEL.length) !== -1) return null;
  return topic.slice(INBOX_PREFIX.length, end);
}

/** Whether the device's connection holds a subscription that matches `topic`, its own inbox topic. */
function subscribedTo(client: Client, device: string, topic: string): boolean {
  const subscriptions = (client as unknown as { subscriptions: Record<string, unknown> }).subscriptions;
  const inbox = `${INBOX_PREFIX}${device}/in/`;
  return subscriptions[topic] !== undefined || subscriptions[`${inbox}#`] !== undefined || subscriptions[`${inbox}+`] !== undefined;
}

/** Appends MQTT's variable-length remaining length [MQTT-2.2.3] at `offset`; returns the offset after it. */
function writeRemainingLength(packet: Buffer, offset: number, length: number): number {
  let left = length;
  let at = offset;
  do {
    let byte = left % 128;
    left = Math.floor(left / 128);
    if (left > 0) byte |= 0x80;
    packet[at++] = byte;
  } while (left > 0);
  return at;
}

const remainingLengthBytes = (length: number): number => (length < 128 ? 1 : length < 16_384 ? 2 : length < 2_097_152 ? 3 : 4);

/** The bytes of a QoS 0 PUBLISH of `payload` on `topic`. */
export function encodePublishQos0(topic: string, payload: Uint8Array): Buffer {
  const topicBytes = Buffer.byteLength(topic);
  const remaining = 2 + topicBytes + payload.length;
  const packet = Buffer.allocUnsafe(1 + remainingLengthBytes(remaining) + remaining);
  packet[0] = PUBLISH_QOS0_HEADER;
  let offset = writeRemainingLength(packet, 1, remaining);
  offset = packet.writeUInt16BE(topicBytes, offset);
  offset += packet.write(topic, offset);
  packet.set(payload, offset);
  if (offset + payload.length !== packet.length) throw new Error('assertion failed: a PUBLISH fills its buffer exactly');
  return packet;
}

/** Writes a QoS 0 inbox message straight to its device's connection; false where aedes must route it. */
export function deliverDirectly(aedes: Aedes, topic: string, payload: Uint8Array): boolean {
  const device = inboxDeviceOf(topic);
  if (device === null) return false;
  const client = clientsOf(aedes)[device];
  if (client === undefined) return false;
  const state = client as unknown as { connected: boolean; closed: boolean; errored: boolean; version: number; conn: { destroyed: boolean; write(chunk: Buffer): boolean } };
  if (!state.connected || state.closed || state.errored || state.conn.destroyed || !PLAIN_PUBLISH_LEVELS.has(state.version)) return false;
  const role = roleOf(client);
  if (role?.kind !== 'device' || role.device !== device || !subscribedTo(client, device, topic)) return false;
  state.conn.write(encodePublishQos0(topic, payload));
  return true;
}
