// The device's MQTT link to the service: connects with a fresh signed connect token on every
// (re)connect, subscribes to its inbox, correlates RPC replies by request id, and hands inbox
// messages to the agent. Pure plumbing: what to pay and what to store is the agent's business.
import { EventEmitter } from 'node:events';
import mqtt, { type MqttClient } from 'mqtt';
import { sign } from '../shared/crypto.js';
import { signConnectPassword } from '../shared/connect-token.js';
import { MqpayError } from '../shared/errors.js';
import type { RandomBytes } from '../shared/ids.js';
import { CONNECT_NONCE_BYTES, IN_FLIGHT_REQUESTS_PER_DEVICE_MAX } from '../shared/limits.js';
import { encodePayload, parsePayload, rpcResponseSchema, type RpcMethod } from '../shared/schemas.js';
import { inboxFilter, outboxTopic, parseTopic, type InboxKind, type OutboxKind } from '../shared/topics.js';

export interface LinkOptions {
  readonly url: string;
  readonly device: string;
  readonly secretKey: Uint8Array;
  readonly brokerId: string;
  readonly clock: { nowMs(): number };
  readonly random: RandomBytes;
  readonly requestTimeoutMs?: number;
  readonly reconnectPeriodMs?: number;
  readonly connectTimeoutMs?: number;
  readonly keepaliveSeconds?: number;
}

export const REQUEST_TIMEOUT_MS_DEFAULT = 10_000;

interface PendingRequest {
  readonly resolve: (result: Record<string, unknown>) => void;
  readonly reject: (error: MqpayError) => void;
  readonly timer: NodeJS.Timeout;
}

/** Events: 'inbox' (kind, payload), 'connect', 'offline'. */
export class DeviceLink extends EventEmitter {
  readonly client: MqttClient;
  private readonly pending = new Map<string, PendingRequest>();
  private requestCounter = 0;

  private constructor(private readonly options: LinkOptions, client: MqttClient) {
    super();
    this.client = client;
    client.on('reconnect', () => {
      client.options.password = this.password() as unknown as string;
    });
    client.on('connect', () => {
      client.subscribe(inboxFilter(options.device), { qos: 1 });
      this.emit('connect');
    });
    client.on('offline', () => this.emit('offline'));
    client.on('error', (error) => this.emit('link-error', error));
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
  }

  /** Connects and waits for the first CONNACK and inbox subscription. */
  static connect(options: LinkOptions): Promise<DeviceLink> {
    const password = DeviceLink.passwordOf(options);
    const client = mqtt.connect(options.url, {
      clientId: options.device,
      username: options.device,
      password: Buffer.from(password) as unknown as string,
      protocolVersion: 4,
      clean: true,
      keepalive: options.keepaliveSeconds ?? 30,
      reconnectPeriod: options.reconnectPeriodMs ?? 500,
      connectTimeout: options.connectTimeoutMs ?? 5_000,
      resubscribe: false,
    });
    const link = new DeviceLink(options, client);
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        client.end(true);
        reject(new MqpayError('SERVICE_UNAVAILABLE', error.message));
      };
      client.once('error', fail);
      client.once('connect', () => {
        client.subscribe(inboxFilter(options.device), { qos: 1 }, (error) => {
          client.removeListener('error', fail);
          if (error) fail(error);
          else resolve(link);
        });
      });
    });
  }

  private static passwordOf(options: LinkOptions): Uint8Array {
    return signConnectPassword({ device: options.device, broker: options.brokerId, timeMs: options.clock.nowMs(), nonce: options.random(CONNECT_NONCE_BYTES), secretKey: options.secretKey, sign });
  }

  private password(): Buffer {
    return Buffer.from(DeviceLink.passwordOf(this.options));
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** Publishes to the device's own outbox at QoS 1; resolves on PUBACK. */
  publish(kind: OutboxKind, message: object): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.publish(outboxTopic(this.options.device, kind), Buffer.from(encodePayload(message)), { qos: 1 }, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Sends a request and waits for its reply. `id` lets a retry reuse the original request id. */
  request(method: RpcMethod, params: Record<string, unknown>, id?: string): Promise<Record<string, unknown>> {
    if (this.pending.size >= IN_FLIGHT_REQUESTS_PER_DEVICE_MAX) return Promise.reject(new MqpayError('TOO_MANY_IN_FLIGHT'));
    this.requestCounter += 1;
    const requestId = id ?? `${this.options.clock.nowMs().toString(36)}-${this.requestCounter}-${Buffer.from(this.options.random(4)).toString('hex')}`;
    return new Promise((resolve, reject) => {
      const timeoutMs = this.options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT;
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new MqpayError('TIMEOUT', `${method} after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      this.publish('rpc', { v: 1, id: requestId, method, params }).catch(() => undefined);
    });
  }

  private onMessage(topic: string, payload: Buffer): void {
    const parsed = parseTopic(topic);
    if (parsed === null || parsed.kind !== 'inbox' || parsed.device !== this.options.device) return;
    if (parsed.box === 'rpc') return this.onRpcReply(payload);
    this.emit('inbox', parsed.box satisfies InboxKind, new Uint8Array(payload));
  }

  private onRpcReply(payload: Buffer): void {
    let reply;
    try {
      reply = parsePayload(rpcResponseSchema, new Uint8Array(payload));
    } catch {
      return; // a malformed reply cannot be correlated; the request will time out
    }
    const pending = this.pending.get(reply.id);
    if (pending === undefined) return;
    this.pending.delete(reply.id);
    clearTimeout(pending.timer);
    if (reply.ok) pending.resolve(reply.result);
    else pending.reject(new MqpayError(reply.error.code as never, reply.error.message));
  }

  async close(): Promise<void> {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new MqpayError('SERVICE_UNAVAILABLE', 'link closed'));
      this.pending.delete(id);
    }
    await this.client.endAsync();
  }
}
