// Device presence in the cluster (broker/cluster/worker/presence.ts): connection events of the
// event exchange become device.connected / device.disconnected for the operator, once per change,
// only from the reporting worker (the settlement leader). A takeover opens the new connection
// before the old one closes: the device stays connected.
import { describe, expect, it } from 'vitest';
import { DevicePresence } from '../broker/cluster/worker/presence.js';
import { Telemetry } from '../broker/service/telemetry.js';

const MQTT = "{'MQTT',\"3.1.1\"}";

function watched(reporting: () => boolean) {
  const telemetry = new Telemetry();
  const events: string[] = [];
  telemetry.on((event) => {
    if (event.kind === 'ops.event') events.push(`${event.event.type} ${'device' in event.event ? event.event.device : ''}`);
  });
  return { presence: new DevicePresence(telemetry, { nowMs: () => 1_000 }, reporting), events };
}

describe('cluster worker: device presence from connection events', () => {
  it('reports a device once connected and once disconnected, across a takeover', () => {
    const { presence, events } = watched(() => true);
    presence.opened('<pid.1>', 'car.1', MQTT);
    presence.opened('<pid.2>', 'car.1', MQTT); // a reconnect takes the session over
    presence.closed('<pid.1>');
    expect(presence.online).toEqual(new Set(['car.1']));
    presence.closed('<pid.2>');
    presence.closed('<pid.2>'); // a repeated event changes nothing
    expect(events).toEqual(['device.connected car.1', 'device.disconnected car.1']);
    expect(presence.online.size).toBe(0);
  });

  it('ignores workers (AMQP), operators and unknown connections; reports nothing while not the leader, yet keeps the map', () => {
    let leading = false;
    const { presence, events } = watched(() => leading);
    presence.opened('<pid.w>', 'mqpay-worker', "{'AMQP',\"0-9-1\"}");
    presence.opened('<pid.o>', 'operator', MQTT);
    presence.closed('<pid.unknown>');
    presence.opened('<pid.3>', 'charger-1', MQTT);
    expect(events).toEqual([]);
    leading = true;
    presence.closed('<pid.3>');
    expect(events).toEqual(['device.disconnected charger-1']);
  });
});
