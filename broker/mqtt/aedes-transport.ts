// The transport port over an in-process aedes: service messages are published at QoS 1.
import type { Aedes } from 'aedes';
import type { TransportPort } from '../service/ports.js';

export function aedesTransport(aedes: Aedes): TransportPort {
  return {
    publish(topic, payload, options = {}) {
      // After close, nothing is delivered: devices re-read what they missed on reconnect.
      if (aedes.closed) return Promise.resolve();
      return new Promise((resolve, reject) => {
        aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), qos: options.qos ?? 1, retain: options.retain ?? false, dup: false }, (error) => {
          if (error) reject(error);
          else resolve();
        });
      });
    },
  };
}
