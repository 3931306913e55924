// An outbox message is the service's alone: the ACL lets no client subscribe to an outbox
// (acl.ts), so routing it on through aedes' publish (a Packet copy, the retained check, the topic
// matcher, the 'publish' event) finds no subscriber and only costs CPU, per message, on the hot
// path of vouchers and ticks. The host marks each message it handed to the service; aedes' publish
// skips the marked ones (after the hook called back, so a QoS 1 PUBACK still waits for the commit
// [docs/DESIGN.md rule 5]) and routes every other publish (the service's own answers) as before.
import type { Aedes, Client, PublishPacket } from 'aedes';

type Route = (packet: PublishPacket, client: Client | null, done?: (error?: Error) => void) => void;

// A mark on the packet itself, not a WeakSet entry: adding to a WeakSet per message cost more than
// the routing it saves (measured), and the mark goes away with the packet.
const CONSUMED = Symbol('mqpay consumed outbox message');
type Marked = PublishPacket & { [CONSUMED]?: true };

/** The service took this publish: aedes need not route it. */
export function markConsumed(packet: PublishPacket): void {
  (packet as Marked)[CONSUMED] = true;
}

/** Makes `aedes` skip the routing of consumed outbox messages. */
export function skipConsumedRouting(aedes: Aedes): void {
  const route = (aedes.publish as unknown as Route).bind(aedes);
  const publish = (packet: PublishPacket, client: Client | null | ((error?: Error) => void), done?: (error?: Error) => void): void => {
    if ((packet as Marked)[CONSUMED] === true) {
      done?.();
      return;
    }
    if (typeof client === 'function') route(packet, null, client);
    else route(packet, client, done);
  };
  (aedes as unknown as { publish: typeof publish }).publish = publish;
}
