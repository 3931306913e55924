// The transport port over an in-process aedes: service messages are published at QoS 1 unless
// asked otherwise. A QoS 0 message to a device's inbox goes straight to its connection when it
// is subscribed (./direct-delivery.ts); everything else goes through aedes' routing.
import type { Aedes } from 'aedes';
import type { TransportPort } from '../service/ports.js';
import { deliverDirectly } from './direct-delivery.js';

const DELIVERED: Promise<void> = Promise.resolve();

export function aedesTransport(aedes: Aedes): TransportPort {
  return {
    publish(topic, payload, options = {}) {
      // After close, nothing is delivered: devices re-read what they missed on reconnect.
      if (aedes.closed) return DELIVERED;
      const qos = options.qos ?? 1;
      const retain = options.retain ?? false;
      if (qos === 0 && !retain && deliverDirectly(aedes, topic, payload)) return DELIVERED;
      return new Promise((resolve, reject) => {
        aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), qos, retain, dup: false }, (error) => {
          if (error) reject(error);
          else resolve();
        });
      });
    },
  };
}
