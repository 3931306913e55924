// Which devices are connected, for the operator surface, reported to the telemetry port at each
// connect and disconnect (which puts them on mqpay/v1/ops/events).
import type { Aedes, Client } from 'aedes';
import type { OpsEvent } from '../../shared/ops-events.js';
import { receiptReachingFilters } from '../../shared/topics.js';
import type { Clock } from '../service/ports.js';
import type { Telemetry } from '../service/telemetry.js';
import { roleOf } from './roles.js';
import { PROTOCOL_VERSION } from '../../shared/schemas.js';

/** aedes keeps its live clients by id; its types do not expose the map. */
export const clientsOf = (aedes: Aedes): Record<string, Client> => (aedes as unknown as { clients: Record<string, Client> }).clients;

export function trackPresence(aedes: Aedes, clock: Clock, telemetry: Telemetry, onInboxReady: (device: string) => void): ReadonlySet<string> {
  const online = new Set<string>();
  const event = (type: 'device.connected' | 'device.disconnected', device: string): void => {
    const message: OpsEvent = { v: PROTOCOL_VERSION, type, device, atMs: clock.nowMs() };
    telemetry.emit({ kind: 'ops.event', event: message });
  };
  aedes.on('clientReady', (client) => {
    const role = roleOf(client);
    if (role?.kind !== 'device') return;
    online.add(role.device);
    event('device.connected', role.device);
  });
  // Only once a device is subscribed can it receive anything: that, not CONNACK, is "ready".
  aedes.on('subscribe', (subscriptions, client) => {
    const role = roleOf(client);
    if (role?.kind === 'device' && subscriptions.some((subscription) => receivesReceipts(subscription.topic, role.device))) onInboxReady(role.device);
  });
  aedes.on('clientDisconnect', (client) => {
    const role = roleOf(client);
    if (role?.kind !== 'device') return;
    // A takeover by the same device fires this for the old connection: it is still online.
    setImmediate(() => {
      if (clientsOf(aedes)[role.device] !== undefined) return;
      online.delete(role.device);
      event('device.disconnected', role.device);
    });
  });
  return online;
}

/**
 * Whether a (granted) subscription reaches the device's receipt frames, so the latest receipts
 * can be re-sent: `in/#`, `in/+` (both allowed by the ACL) or `in/receipt-bin` itself.
 */
function receivesReceipts(filter: string, device: string): boolean {
  return receiptReachingFilters(device).includes(filter);
}
