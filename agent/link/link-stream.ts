// The byte stream under the MQTT client: plain TCP for mqtt://, TLS for mqtts://. The URL is
// checked once, when the link is created, so a typo fails at start and not on every reconnect.
//
// Over TLS the broker's certificate is checked against the CA from agent.json (else the system
// CAs) and, when one is pinned, its SHA-256 fingerprint. Nothing is written, not even CONNECT
// with its signed token, until the check has passed; a failed check is an error that names
// what did not match, and never a fallback to plain text.
import { isIP, createConnection } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { Duplex } from 'node:stream';
import { MqpayError } from '../../shared/errors.js';

export const MQTT_PORT_DEFAULT = 1883;
export const MQTTS_PORT_DEFAULT = 8883;

export interface BrokerAddress {
  readonly secure: boolean;
  readonly host: string;
  readonly port: number;
}

/** How the agent trusts the broker over mqtts://, and its own certificate for mutual TLS. */
export interface LinkTls {
  /** PEM CA(s) that must have issued the broker's certificate (instead of the system CAs). */
  readonly ca?: string;
  /** SHA-256 of the broker's certificate, hex with or without colons; alone, it replaces the CA check. */
  readonly certSha256?: string;
  /** PEM certificate and key this device presents (mutual TLS). */
  readonly cert?: string;
  readonly key?: string;
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

/** "AB:CD:..." or "abcd..." to lower-case hex without colons. */
export function normalFingerprint(text: string): string {
  return text.replace(/:/g, '').toLowerCase();
}

/** Holds writes until the TLS handshake and the pin check have passed, then is the socket. */
class CheckedTlsStream extends Duplex {
  private open = false;
  private readonly held: { chunk: Buffer; callback: (error?: Error | null) => void }[] = [];

  constructor(private readonly socket: TLSSocket) {
    super();
    socket.on('data', (data: Buffer) => {
      if (!this.push(data)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
  }

  pass(): void {
    this.open = true;
    for (const { chunk, callback } of this.held.splice(0)) this.socket.write(chunk, callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.open) this.socket.write(chunk, callback);
    else this.held.push({ chunk, callback });
  }

  override _read(): void {
    this.socket.resume();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }
}

/** An error MQTT.js passes on (it drops stream errors without a code) and the link reports. */
function tlsError(message: string): Error {
  return Object.assign(new Error(message), { code: 'TLS_BROKER_REFUSED' });
}

function tlsRefusal(error: Error & { code?: string }, address: BrokerAddress, tls: LinkTls): Error {
  const trusting = tls.ca !== undefined ? 'the broker CA in agent.json (tls.brokerCa)' : tls.certSha256 !== undefined ? 'the pinned fingerprint' : 'the system CAs';
  return tlsError(`TLS to ${address.host}:${address.port} failed (${error.code ?? 'TLS_ERROR'}: ${error.message}); trusting ${trusting}`);
}

function secureStream(address: BrokerAddress, tls: LinkTls): Duplex {
  const pinOnly = tls.certSha256 !== undefined && tls.ca === undefined;
  const socket = connectTls({
    host: address.host, port: address.port,
    // SNI carries names only (RFC 6066); the certificate is still checked against an IP host.
    ...(isIP(address.host) === 0 ? { servername: address.host } : {}),
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
    // A pin alone stands in for the chain check (a self-signed broker); it is checked below.
    rejectUnauthorized: !pinOnly,
  });
  socket.setNoDelay(true);
  const stream = new CheckedTlsStream(socket);
  socket.on('error', (error) => stream.destroy(tlsRefusal(error, address, tls)));
  socket.once('secureConnect', () => {
    if (tls.certSha256 !== undefined) {
      const seen = socket.getPeerCertificate().fingerprint256;
      if (typeof seen !== 'string' || normalFingerprint(seen) !== normalFingerprint(tls.certSha256)) {
        stream.destroy(tlsError(`broker certificate at ${address.host}:${address.port} has sha256 ${seen ?? 'none'}, not the pinned ${tls.certSha256} (tls.brokerCertSha256 in agent.json)`));
        return;
      }
    }
    stream.pass();
  });
  return stream;
}

/**
 * One broker URL, or several separated by commas (the nodes of a cluster, in order of
 * preference). Every URL is checked here, so a typo in the second fails at start too.
 */
export function parseBrokerUrls(text: string): BrokerAddress[] {
  const urls = text.split(',').map((url) => url.trim());
  if (urls.some((url) => url === '')) throw new MqpayError('MESSAGE_INVALID', `broker URL list ${JSON.stringify(text)} has an empty entry`);
  return urls.map(parseBrokerUrl);
}

function dial(address: BrokerAddress, tls: LinkTls): Duplex {
  if (address.secure) return secureStream(address, tls);
  const socket = createConnection({ host: address.host, port: address.port });
  socket.setNoDelay(true);
  return socket;
}

/**
 * The stream builder MQTT.js calls at every (re)connect. With several URLs it fails over: a
 * connection that closes before the broker sent a byte (refused, unreachable, a node going
 * down) moves the next attempt to the next URL; one that was answered keeps its node, so a
 * dropped link reconnects where its session is.
 */
export function streamBuilderFor(url: string, tls: LinkTls = {}): () => Duplex {
  const addresses = parseBrokerUrls(url);
  if (addresses.some((address) => !address.secure) && (tls.ca !== undefined || tls.certSha256 !== undefined || tls.cert !== undefined)) {
    throw new MqpayError('MESSAGE_INVALID', `agent.json sets how to trust the broker over TLS, but the broker URL ${url} is plain text: use mqtts://`);
  }
  let current = 0;
  return () => {
    const address = addresses[current % addresses.length];
    if (address === undefined) throw new MqpayError('MESSAGE_INVALID', 'no broker URL');
    const stream = dial(address, tls);
    let answered = false;
    stream.once('data', () => {
      answered = true;
    });
    stream.once('close', () => {
      if (!answered) current = (current + 1) % addresses.length;
    });
    return stream;
  };
}
