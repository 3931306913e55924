// The byte stream under the MQTT client: plain TCP for mqtt://, TLS for mqtts://. The URL is
// checked once, when the link is created, so a typo fails at start and not on every reconnect.
import { createConnection } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { Duplex } from 'node:stream';
import { MqpayError } from '../../shared/errors.js';

export const MQTT_PORT_DEFAULT = 1883;
export const MQTTS_PORT_DEFAULT = 8883;

export interface BrokerAddress {
  readonly secure: boolean;
  readonly host: string;
  readonly port: number;
}

export function parseBrokerUrl(url: string): BrokerAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MqpayError('MESSAGE_INVALID', `broker URL ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== 'mqtt:' && parsed.protocol !== 'mqtts:') {
    throw new MqpayError('MESSAGE_INVALID', `broker URL must start with mqtt:// or mqtts://, got ${parsed.protocol}`);
  }
  const secure = parsed.protocol === 'mqtts:';
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new MqpayError('MESSAGE_INVALID', 'broker URL has no host');
  const port = parsed.port === '' ? (secure ? MQTTS_PORT_DEFAULT : MQTT_PORT_DEFAULT) : Number(parsed.port);
  return { secure, host, port };
}

export function streamBuilderFor(url: string): () => Duplex {
  const address = parseBrokerUrl(url);
  return () => {
    if (address.secure) return connectTls({ host: address.host, port: address.port, servername: address.host });
    const socket = createConnection({ host: address.host, port: address.port });
    socket.setNoDelay(true);
    return socket;
  };
}
