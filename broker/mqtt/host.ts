// The MQTT host: aedes with mqpay's hooks and every limit a named option. TCP for devices, a
// WebSocket listener for browsers. Outbox messages go to the settlement service inside
// authorizePublish, because aedes PUBACKs QoS 1 right after that hook calls back: the service
// resolves only once the message is committed [docs/DESIGN.md rule 5].
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { createServer as createTlsServer, TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Server as HttpServer } from 'node:http';
import { Aedes, type AedesOptions, type Client, type PublishPacket, type Subscription } from 'aedes';
import type { Logger } from 'pino';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { ERRORS, type ErrorCode } from '../../shared/errors.js';
import type { BrokerConfig } from '../config.js';
import type { Clock, TransportPort } from '../service/ports.js';
import type { SettlementService } from '../service/service.js';
import { decidePublishRemembered, decideSubscribe, willAllowed } from './acl.js';
import { makeAuthenticate } from './authenticate.js';
import { markConsumed, skipConsumedRouting } from './consumed-outbox.js';
import { LOGIN_REFUSAL_HINTS } from './login-check.js';
import { OutboxGate } from './outbox-gate.js';
import { PacketSizeGuard, type TrafficCounts } from './packet-size-guard.js';
import { clientsOf, trackPresence } from './presence.js';
import { roleOf } from './roles.js';
import { peerCertificateOf, type PeerCertificate, type TlsReloader } from './tls-material.js';
import { CLIENT_ID_LENGTH_MAX, HEARTBEAT_INTERVAL_MS } from '../limits.js';
import { TOPIC_LEVELS_MAX } from '../../shared/limits.js';
import type { OutboxKind } from '../../shared/topics.js';

export interface MqttHostDeps {
  readonly config: BrokerConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly service: SettlementService;
  readonly transport: TransportPort;
  /** The TLS client certificate recorded at enrolment (mutual TLS). */
  readonly recordedCertificateOf: (device: string) => string | null;
}

export interface MqttHost {
  readonly aedes: Aedes;
  /** Devices connected now. */
  readonly online: ReadonlySet<string>;
  /** Bytes and MQTT packets in and out over every connection since the broker started. */
  readonly traffic: Readonly<TrafficCounts>;
  listenTcp(port: number, host: string): Promise<number>;
  /** MQTT over TLS with the reloader's material, kept current on every reload. */
  listenTls(port: number, host: string, tls: TlsReloader): Promise<number>;
  /** MQTT over WebSocket at /mqtt on an HTTP or HTTPS server (WSS). */
  attachWebSocket(server: HttpServer): void;
  /** Closes a device's live session (an operator disabled it); false when it was not connected. */
  disconnect(device: string): boolean;
  close(): Promise<void>;
}

function violation(deps: MqttHostDeps, client: Client | null, what: string, reason: string): Error {
  deps.service.telemetry.emit({ kind: 'acl.violation', device: client?.id ?? '' });
  deps.logger.warn({ client: client?.id, what, reason }, 'ACL violation');
  return new Error(`not authorized: ${reason}`);
}

/** The aedes instance with every limit a named option; `attachMqttHost` gives it its hooks. */
export function createAedes(config: BrokerConfig): Promise<Aedes> {
  const options: AedesOptions = {
    id: config.brokerId,
    concurrency: config.concurrency,
    connectTimeout: config.connectTimeoutMs,
    keepaliveLimit: config.keepaliveSecondsMax,
    drainTimeout: config.drainTimeoutMs,
    queueLimit: config.queueLimit,
    maxClientsIdLength: CLIENT_ID_LENGTH_MAX,
    // The protocol's own depth: aedes refuses deeper topics before any hook runs, so nothing
    // deeper than the scheme in shared/topics.ts reaches the ACL, the service or a matcher.
    maxTopicLevels: TOPIC_LEVELS_MAX,
    heartbeatInterval: HEARTBEAT_INTERVAL_MS,
  };
  return Aedes.createBroker(options);
}

/**
 * The payload as the service takes it. A copy, so that what a decoder keeps (a voucher's bytes are
 * views of it) pins 146 bytes rather than the socket's whole read; a tick's decoder copies the few
 * fields it keeps, so a tick (the most frequent message) goes through as a view.
 */
function payloadOf(box: OutboxKind, payload: Buffer): Uint8Array {
  return box === 'tick' ? new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength) : new Uint8Array(payload);
}

/** mqpay's hooks: who may connect, publish and subscribe, and outbox messages into the service. */
function attachHooks(aedes: Aedes, deps: MqttHostDeps, gate: OutboxGate, peers: WeakMap<object, PeerCertificate>): void {
  const { config, service, logger } = deps;
  const onAuthFailure = (clientId: string, code: ErrorCode, detail?: string): void => {
    service.telemetry.emit({ kind: 'auth.failure', code, client: clientId });
    logger.warn({ client: clientId, code, detail, why: LOGIN_REFUSAL_HINTS[code] ?? ERRORS[code].message }, 'connection refused');
  };
  const hooks: Pick<AedesOptions, 'preConnect' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'> = {
    preConnect(client, packet, callback) {
      if (aedes.connectedClients >= config.maxClients) return callback(new Error('server full'), false);
      if (packet.keepalive === 0) return callback(new Error('keep-alive 0 is not allowed'), false);
      if (!willAllowed(packet.clientId, packet.will)) return callback(violation(deps, client, packet.will?.topic ?? '', 'will outside own outbox'), false);
      callback(null, true);
    },
    authenticate: makeAuthenticate({
      service: deps.service, clock: deps.clock, brokerId: config.brokerId, operatorToken: config.operatorToken, onFailure: onAuthFailure,
      requireClientCert: config.tlsClientCaFile !== null, peerOf: (client) => peers.get(client.conn as object) ?? null,
      recordedCertificateOf: deps.recordedCertificateOf,
    }),
    authorizePublish(client, packet: PublishPacket, callback) {
      const decision = decidePublishRemembered(roleOf(client), packet);
      if (!decision.allowed) return callback(violation(deps, client, packet.topic, decision.reason));
      markConsumed(packet);
      const done = (): void => callback(null);
      gate.pass(decision.device, decision.box, payloadOf(decision.box, packet.payload as Buffer)).then(done, done);
    },
    authorizeSubscribe(client, subscription: Subscription, callback) {
      const decision = decideSubscribe(roleOf(client), subscription.topic, config.offersWildcard);
      if (decision.allowed) return callback(null, subscription);
      // Counted and logged like any violation, but answered with SUBACK 0x80 rather than a
      // disconnect: a null subscription is aedes' way to refuse one filter [MQTT-3.9.3-1].
      violation(deps, client, subscription.topic, decision.reason);
      callback(null, null);
    },
  };
  Object.assign(aedes, hooks);
}

/**
 * Makes `aedes` (from createAedes) mqpay's MQTT host. Created before the service and hooked up
 * after it, so the service's transport and the host's hooks need no forward references.
 */
export function attachMqttHost(created: Aedes, deps: MqttHostDeps): MqttHost {
  const { config, logger } = deps;
  const gate = new OutboxGate(config, deps.clock, deps.service, deps.transport, logger);
  // The TLS peer of each connection, keyed by the stream aedes holds as client.conn.
  const peers = new WeakMap<object, PeerCertificate>();
  attachHooks(created, deps, gate, peers);
  skipConsumedRouting(created);
  const online = trackPresence(created, deps.clock, deps.service.telemetry, (device) => {
    deps.service.inboxReady(device).catch((error: unknown) => logger.warn({ err: error, device }, 'redelivery on subscribe failed'));
  });
  const servers: TcpServer[] = [];
  const stopReloads: (() => void)[] = [];
  const wsServers: WebSocketServer[] = [];
  const traffic: TrafficCounts = { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 };
  const guard = (stream: Duplex) => new PacketSizeGuard(
    stream,
    config.packetBytesMax,
    (size) => {
      deps.service.telemetry.emit({ kind: 'packet.oversized', sizeBytes: size });
      logger.warn({ size_bytes: size }, 'oversized MQTT packet; connection closed');
    },
    config.outboundBytesPerClientMax,
    (buffered) => {
      deps.service.telemetry.emit({ kind: 'client.dropped', bufferedBytes: buffered });
      logger.warn({ buffered_bytes: buffered }, 'client stopped reading; dropped');
    },
    traffic,
  );
  const handle = (stream: Duplex, tlsSocket: TLSSocket | null, request?: import('node:http').IncomingMessage) => {
    const guarded = guard(stream);
    if (tlsSocket !== null) peers.set(guarded, peerCertificateOf(tlsSocket));
    created.handle(guarded, request as never);
  };
  const listen = (server: TcpServer, port: number, host: string) => {
    servers.push(server);
    return new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  };

  return {
    aedes: created,
    traffic,
    online,
    listenTcp(port, host) {
      return listen(createTcpServer((socket) => {
        socket.setNoDelay(true);
        handle(socket, null);
      }), port, host);
    },
    listenTls(port, host, tls) {
      const mutual = config.tlsClientCaFile !== null;
      // With a client CA the handshake itself refuses a device certificate from anyone else.
      const server = createTlsServer({ ...tls.current.context, requestCert: mutual, rejectUnauthorized: mutual }, (socket) => {
        socket.setNoDelay(true);
        handle(socket, socket);
      });
      server.on('tlsClientError', (error, socket) => logger.warn({ err: error.message, remote: socket.remoteAddress }, 'TLS handshake refused'));
      stopReloads.push(tls.onReload((material) => server.setSecureContext(material.context)));
      return listen(server, port, host);
    },
    attachWebSocket(server) {
      const wss = new WebSocketServer({ server, path: '/mqtt', maxPayload: config.packetBytesMax * 4 });
      wss.on('connection', (socket, request) => handle(createWebSocketStream(socket), request.socket instanceof TLSSocket ? request.socket : null, request));
      // ws re-emits the HTTP server's errors (a busy port at listen) on itself; whoever listens
      // on the HTTP server reports them, so here they must not become an uncaught exception.
      wss.on('error', (error) => logger.debug({ err: error.message }, 'WebSocket server error (reported by the HTTP listener)'));
      wsServers.push(wss);
    },
    disconnect(device) {
      const client = clientsOf(created)[device];
      if (client === undefined || roleOf(client)?.kind !== 'device') return false;
      client.close();
      return true;
    },
    async close() {
      // Stop accepting first, then let aedes close every client: a listening server's close()
      // waits for its open connections, so awaiting it before aedes.close() would hang.
      for (const stop of stopReloads) stop();
      const closed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
      for (const wss of wsServers) wss.close();
      await new Promise<void>((resolve) => created.close(() => resolve()));
      await Promise.all(closed);
    },
  };
}
