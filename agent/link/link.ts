// The device's MQTT link to the service: connects with a fresh signed connect token on every
// (re)connect, subscribes to its inbox, correlates RPC replies by request id, and hands inbox
// messages to the agent. Pure plumbing: what to pay and what to store is the agent's business.
//
// Built on MQTT.js's client class with its own TCP/TLS stream builder (mqtt:// and mqtts://
// only): the WebSocket, SOCKS and mini-program transports of `mqtt.connect` would triple the
// size of the agent bundle for devices that never use them.
import { EventEmitter } from 'node:events';
import type { IClientOptions } from 'mqtt';
import clientModule from 'mqtt/lib/client';
import { sign } from '../../shared/crypto.js';
import { signConnectPassword } from '../../shared/connect-token.js';
import { connackRefusalCode } from '../../shared/connack.js';
import { MqpayError } from '../../shared/errors.js';
import type { RandomBytes } from '../../shared/ids.js';
import { CONNECT_NONCE_BYTES, IN_FLIGHT_REQUESTS_PER_DEVICE_MAX } from '../../shared/limits.js';
import { encodePayload, errorFromBody, parsePayload, PROTOCOL_VERSION, type RpcMethod, type RpcParamsInput, rpcResponseSchema, type RpcResult, type RpcResultInput, rpcResultSchema } from '../../shared/schemas.js';
import { inboxFilter, outboxTopic, parseDeliveredTopic, type InboxKind, type OutboxKind } from '../../shared/topics.js';
import { streamBuilderFor, type LinkTls } from './link-stream.js';
import { reconnectDelayMs } from './reconnect-backoff.js';
import { CONNECT_TIMEOUT_MS_DEFAULT, DISABLED_RECONNECT_MS_DEFAULT, KEEPALIVE_SECONDS_DEFAULT, RECONNECT_INITIAL_MS_DEFAULT, RECONNECT_MAX_MS_DEFAULT, REQUEST_TIMEOUT_MS_DEFAULT } from '../limits.js';

// Node's ESM loader hands over `module.exports` (class under `.default`); bundlers and test
// runners that apply the __esModule interop hand over the class itself. Accept both.
type MqttClientClass = typeof clientModule.default;
const MqttClient: MqttClientClass = (clientModule as unknown as { default?: MqttClientClass }).default ?? (clientModule as unknown as MqttClientClass);
export type MqttClientInstance = InstanceType<MqttClientClass>;

export interface LinkOptions {
  readonly url: string;
  readonly device: string;
  readonly secretKey: Uint8Array;
  readonly brokerId: string;
  readonly clock: { nowMs(): number };
  readonly random: RandomBytes;
  readonly requestTimeoutMs?: number;
  /** First reconnect delay; later ones double up to `reconnectPeriodMaxMs`, with jitter. */
  readonly reconnectPeriodMs?: number;
  readonly reconnectPeriodMaxMs?: number;
  /** Reconnect period while the broker refuses the device as disabled (DEVICE_DISABLED). */
  readonly disabledReconnectMs?: number;
  readonly connectTimeoutMs?: number;
  readonly keepaliveSeconds?: number;
  /** false keeps a persistent session: the broker queues inbox messages while offline. */
  readonly cleanSession?: boolean;
  /** Never dial the broker (an offline hand-over: `mqpay agent voucher` and `accept`). */
  readonly offline?: boolean;
  /** For mqtts:// URLs: which broker certificate to trust, and this device's own. */
  readonly tls?: LinkTls;
}

/** A result as it came (wire) and as its method's schema parsed it. */
interface Answer {
  readonly wire: Record<string, unknown>;
  readonly parsed: unknown;
}

interface PendingRequest {
  readonly method: RpcMethod;
  readonly resolve: (answer: Answer) => void;
  readonly reject: (error: MqpayError) => void;
  readonly timer: NodeJS.Timeout;
}

// MQTT.js re-arms its reconnect timer only when none is set; clearing it at each attempt lets
// the next failure schedule the following attempt with the new (longer, jittered) period.
type ReconnectInternals = { _clearReconnect(): void };

/** A CONNACK refusal [MQTT-3.2.2.3]: MQTT.js reports its return code (1-5) as the error's code. */
export function connackCodeOf(error: Error): number | null {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' && code >= 1 && code <= 5 ? code : null;
}

/**
 * Events: 'inbox' (kind, payload), 'offer' (device, payload), 'connect', 'offline', 'link-error',
 * 'refused' (MqpayError: the broker answered CONNACK with a refusal; see shared/connack.ts).
 */
export class DeviceLink extends EventEmitter {
  readonly client: MqttClientInstance;
  private readonly pending = new Map<string, PendingRequest>();
  private requestCounter = 0;
  private reconnectAttempt = 0;
  /** The broker's last CONNACK refusal, as an mqpay error; null once connected. */
  refusal: MqpayError | null = null;
  /** The key that signs connect tokens; a key rotation replaces it (`useKey`). */
  private secretKey: Uint8Array;

  private constructor(private readonly options: LinkOptions, client: MqttClientInstance) {
    super();
    this.client = client;
    this.secretKey = options.secretKey;
    client.on('reconnect', () => this.onReconnectAttempt());
    client.on('connect', () => {
      this.refusal = null;
      this.reconnectAttempt = 0;
      client.options.reconnectPeriod = this.nextDelayMs();
      client.subscribe(inboxFilter(options.device), { qos: 1 }, (error) => {
        if (error) this.emit('link-error', error);
        else this.emit('connect');
      });
    });
    client.on('offline', () => this.emit('offline'));
    client.on('error', (error) => this.onError(error));
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
  }

  private onError(error: Error): void {
    const returnCode = connackCodeOf(error);
    if (returnCode !== null) {
      this.refusal = new MqpayError(connackRefusalCode(returnCode), `the broker refused the connection (CONNACK ${returnCode}: ${error.message})`);
      // Disabled: try again rarely, not every few seconds. MQTT.js arms the next attempt with
      // this period right after emitting the error.
      if (this.refusal.code === 'DEVICE_DISABLED') this.client.options.reconnectPeriod = this.disabledReconnectMs;
      this.emit('refused', this.refusal);
    }
    this.emit('link-error', error);
  }

  /** How often a device refused as disabled tries again. */
  get disabledReconnectMs(): number {
    return this.options.disabledReconnectMs ?? DISABLED_RECONNECT_MS_DEFAULT;
  }

  private static create(options: LinkOptions, retryRefusals: boolean): DeviceLink {
    const initialDelayMs = reconnectDelayMs(0, DeviceLink.backoffOf(options), options.random);
    const clientOptions: IClientOptions = {
      clientId: options.device,
      username: options.device,
      password: Buffer.from(DeviceLink.passwordOf(options)) as unknown as string,
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: options.cleanSession ?? true,
      keepalive: options.keepaliveSeconds ?? KEEPALIVE_SECONDS_DEFAULT,
      reconnectPeriod: initialDelayMs,
      connectTimeout: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS_DEFAULT,
      resubscribe: false,
      reconnectOnConnackError: retryRefusals,
      // mqtt-packet otherwise pre-builds a Buffer for each of the 65,536 packet ids on first
      // write: about 7 MB of heap, half a small device's budget, to save microseconds.
      writeCache: false,
      manualConnect: options.offline === true,
    };
    const client = new MqttClient(streamBuilderFor(options.url, options.tls), clientOptions);
    return new DeviceLink(options, client);
  }

  /** Connects and waits for the first CONNACK and inbox subscription; fails if that fails. */
  static connect(options: LinkOptions): Promise<DeviceLink> {
    const link = DeviceLink.create(options, false);
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        link.off('connect', succeed);
        link.client.end(true);
        reject(link.refusal?.code === 'DEVICE_DISABLED' ? link.refusal : new MqpayError('SERVICE_UNAVAILABLE', error.message));
      };
      const succeed = () => {
        link.off('link-error', fail);
        resolve(link);
      };
      link.once('link-error', fail);
      link.once('connect', succeed);
    });
  }

  /**
   * Starts connecting in the background and returns at once. The link keeps retrying (also
   * after refusals such as an expired token) so a device can start while the broker is down.
   */
  static open(options: LinkOptions): DeviceLink {
    return DeviceLink.create(options, true);
  }

  private static backoffOf(options: LinkOptions) {
    return { initialMs: options.reconnectPeriodMs ?? RECONNECT_INITIAL_MS_DEFAULT, maxMs: options.reconnectPeriodMaxMs ?? RECONNECT_MAX_MS_DEFAULT };
  }

  private static passwordOf(options: LinkOptions, secretKey: Uint8Array = options.secretKey): Uint8Array {
    return signConnectPassword({ device: options.device, broker: options.brokerId, timeMs: options.clock.nowMs(), nonce: options.random(CONNECT_NONCE_BYTES), secretKey, sign });
  }

  /** Signs the connect tokens of the next (re)connects with this key (a key rotation). */
  useKey(secretKey: Uint8Array): void {
    this.secretKey = secretKey;
  }

  private nextDelayMs(): number {
    return reconnectDelayMs(this.reconnectAttempt, DeviceLink.backoffOf(this.options), this.options.random);
  }

  private onReconnectAttempt(): void {
    // A connect token is single-use and time-stamped: every attempt needs a fresh one.
    this.client.options.password = Buffer.from(DeviceLink.passwordOf(this.options, this.secretKey)) as unknown as string;
    this.reconnectAttempt += 1;
    this.client.options.reconnectPeriod = this.refusal?.code === 'DEVICE_DISABLED' ? this.disabledReconnectMs : this.nextDelayMs();
    (this.client as unknown as ReconnectInternals)._clearReconnect();
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /**
   * Resolves once connected (at once if already); false when `timeoutMs` passes first, or at
   * once while the broker refuses this device as disabled (waiting would not help).
   */
  whenConnected(timeoutMs: number): Promise<boolean> {
    if (this.connected) return Promise.resolve(true);
    if (this.refusal?.code === 'DEVICE_DISABLED') return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        this.off('connect', onConnect);
        this.off('refused', onRefused);
        resolve(value);
      };
      const onConnect = () => done(true);
      const onRefused = (error: MqpayError) => {
        if (error.code === 'DEVICE_DISABLED') done(false);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.on('connect', onConnect);
      this.on('refused', onRefused);
    });
  }

  /** Publishes to the device's own outbox at QoS 1; resolves on PUBACK. */
  publish(kind: OutboxKind, message: object): Promise<void> {
    return this.publishFrame(kind, encodePayload(message));
  }

  /**
   * Publishes bytes as they are (a binary frame of protocol v3: `voucher-bin`, `tick`, ...), no JSON;
   * resolves on PUBACK at QoS 1 (the service acknowledges once it is durable), at once at QoS 0.
   */
  publishFrame(kind: OutboxKind, frame: Uint8Array, qos: 0 | 1 = 1): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.publish(outboxTopic(this.options.device, kind), Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength), { qos }, (error) => (error ? reject(error) : resolve()));
    });
  }

  subscribe(filter: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.subscribe(filter, { qos: 1 }, (error) => (error ? reject(new MqpayError('NOT_AUTHORIZED', error.message)) : resolve()));
    });
  }

  unsubscribe(filter: string): Promise<void> {
    return new Promise((resolve) => {
      this.client.unsubscribe(filter, () => resolve());
    });
  }

  /**
   * Sends a request and waits for its result, checked against the method's strict schema and
   * returned as parsed (amounts and seqs as bigints). `id` lets a retry reuse a request id.
   */
  async call<M extends RpcMethod>(method: M, params: RpcParamsInput<M>, id?: string): Promise<RpcResult<M>> {
    return (await this.send(method, params, id)).parsed as RpcResult<M>;
  }

  /** As `call`, but returns the result as it came on the wire (checked all the same). */
  async request<M extends RpcMethod>(method: M, params: RpcParamsInput<M>, id?: string): Promise<RpcResultInput<M>> {
    return (await this.send(method, params, id)).wire as RpcResultInput<M>;
  }

  private send(method: RpcMethod, params: object, id?: string): Promise<Answer> {
    if (this.pending.size >= IN_FLIGHT_REQUESTS_PER_DEVICE_MAX) return Promise.reject(new MqpayError('TOO_MANY_IN_FLIGHT'));
    this.requestCounter += 1;
    const requestId = id ?? `${this.options.clock.nowMs().toString(36)}-${this.requestCounter}-${Buffer.from(this.options.random(4)).toString('hex')}`;
    if (this.pending.has(requestId)) return Promise.reject(new MqpayError('TOO_MANY_IN_FLIGHT', `request ${requestId} is already waiting`));
    return new Promise((resolve, reject) => {
      const timeoutMs = this.options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT;
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new MqpayError('TIMEOUT', `${method} after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(requestId, { method, resolve, reject, timer });
      this.publish('rpc', { v: PROTOCOL_VERSION, id: requestId, method, params }).catch(() => undefined);
    });
  }

  private onMessage(topic: string, payload: Buffer): void {
    // A broker may deliver a dotted device id's topic with `/` for `.` (RabbitMQ 3.10).
    const parsed = parseDeliveredTopic(topic);
    if (parsed === null) return;
    if (parsed.kind === 'offer') {
      this.emit('offer', parsed.device, new Uint8Array(payload));
      return;
    }
    if (parsed.kind !== 'inbox' || parsed.device !== this.options.device) return;
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
    if (!reply.ok) return pending.reject(errorFromBody(reply.error));
    // The id says which method this answers, and so which result schema applies.
    const parsed = rpcResultSchema(pending.method).safeParse(reply.result);
    if (parsed.success) pending.resolve({ wire: reply.result, parsed: parsed.data });
    else pending.reject(new MqpayError('MESSAGE_INVALID', `${pending.method} result: ${parsed.error.issues[0]?.message ?? 'invalid'}`));
  }

  async close(): Promise<void> {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new MqpayError('SERVICE_UNAVAILABLE', 'link closed'));
      this.pending.delete(id);
    }
    // An offline link never dialled: MQTT.js has no stream to end (its end() would throw).
    if (this.options.offline === true) return;
    // Forced: a graceful end waits for every unacknowledged QoS 1 message, forever if the
    // broker is gone. Unsent vouchers are in the agent's store and are re-sent next time.
    await this.client.endAsync(true);
  }
}
