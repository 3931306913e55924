// mqpay's auth and ACL in front of a real two-node RabbitMQ cluster: agent-style MQTT.js clients
// with real connect tokens log in to node A and node B; the auth service (in this process, over a
// SQLite ledger) answers RabbitMQ's HTTP auth backend. Skipped, with the reason, when RabbitMQ is
// not installed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import type { MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthServer, type AuthServer } from '../broker/cluster/auth/auth-server.js';
import { storeLogins } from '../broker/cluster/auth/store-logins.js';
import { Telemetry, type TelemetryEvent } from '../broker/service/telemetry.js';
import { openStore, type OpenedStore } from '../broker/store/open-store.js';
import { addDevice, setDeviceStatus } from '../broker/store/sqlite/devices.js';
import { openDatabase } from '../broker/store/sqlite/open-database.js';
import { generateKeyPair, type KeyPair } from '../shared/keys.js';
import { inboxFilter, outboxTopic } from '../shared/topics.js';
import { closedWithin, connectPassword, tryConnect } from './helpers/broker-adversary.js';
import { OPERATOR_TOKEN, random } from './helpers/broker-fixture.js';
import { rabbitClusterPerFile, rabbitSkipReason } from './helpers/rabbit-cluster.js';

const BROKER_ID = 'mqpay';
const DEVICES = ['alice', 'bob', 'cam.1', 'gone'] as const;

describe.skipIf(rabbitSkipReason !== null)(`auth and ACL on a two-node RabbitMQ cluster ${rabbitSkipReason ?? ''}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mqpay-cluster-auth-'));
  const keys = new Map<string, KeyPair>(DEVICES.map((device) => [device, generateKeyPair(random)]));
  const telemetry = new Telemetry();
  const events: TelemetryEvent[] = [];
  telemetry.on((event) => events.push(event));
  let opened: OpenedStore;
  let auth: AuthServer;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    const db = openDatabase(dir);
    for (const [device, pair] of keys) addDevice(db, device, pair.publicKey, Date.now());
    setDeviceStatus(db, 'gone', 'disabled');
    db.close();
    opened = await openStore(join(dir, 'mqpay.db'));
    const logger = pino({ level: 'silent' });
    auth = await startAuthServer({
      service: storeLogins(opened.store, telemetry, logger), clock: { nowMs: () => Date.now() }, brokerId: BROKER_ID,
      operatorToken: OPERATOR_TOKEN, telemetry, logger, offersWildcard: false,
    }, { port: 0 });
  });
  const cluster = rabbitClusterPerFile({ authBaseUrl: () => auth.baseUrl });
  afterAll(async () => {
    for (const client of clients) client.end(true);
    await auth?.close();
    await opened?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const nodeUrl = (index: 0 | 1): string => cluster().nodes[index]!.mqttUrl;
  const password = (device: string, timeMs?: number) => connectPassword({ device, broker: BROKER_ID, keys: keys.get(device)!, ...(timeMs === undefined ? {} : { timeMs }) });
  const login = async (index: 0 | 1, device: string, pass = password(device)) => {
    const outcome = await tryConnect(nodeUrl(index), { clientId: device, username: device, password: pass });
    clients.push(outcome.client);
    return outcome;
  };
  const failuresSince = (mark: number) => events.slice(mark).flatMap((event) => (event.kind === 'auth.failure' ? [event.code] : []));
  const violationsSince = (mark: number) => events.slice(mark).flatMap((event) => (event.kind === 'acl.violation' ? [event.device] : []));

  it('a device logs in to node A and to node B with fresh tokens, subscribes to its inbox and publishes to its outbox', async () => {
    for (const index of [0, 1] as const) {
      const outcome = await login(index, 'alice');
      expect(outcome.connected).toBe(true);
      const granted = await outcome.client.subscribeAsync(inboxFilter('alice'), { qos: 1 });
      expect(granted.map((grant) => grant.qos)).toEqual([1]);
      await outcome.client.publishAsync(outboxTopic('alice', 'rpc'), Buffer.from('{}'), { qos: 1 });
      await outcome.client.endAsync();
    }
  });

  it('a token used on node A is refused on node B (single use across the cluster)', async () => {
    const pass = password('bob');
    const first = await login(0, 'bob', pass);
    expect(first.connected).toBe(true);
    const mark = events.length;
    const replay = await login(1, 'bob', pass);
    expect(replay.connected).toBe(false);
    expect(failuresSince(mark)).toEqual(['TOKEN_REPLAYED']);
    await first.client.endAsync();
  });

  it('refuses a wrong signature, a disabled device and an unknown device', async () => {
    const mark = events.length;
    const forged = Buffer.from(password('alice'));
    forged[forged.length - 1]! ^= 0x01;
    expect((await login(0, 'alice', forged)).connected).toBe(false);
    expect((await login(1, 'gone')).connected).toBe(false);
    const stranger = await tryConnect(nodeUrl(0), { clientId: 'stranger', username: 'stranger', password: password('alice') });
    expect(stranger.connected).toBe(false);
    expect(failuresSince(mark)).toEqual(['SIGNATURE_INVALID', 'DEVICE_DISABLED', 'DEVICE_UNKNOWN']);
  });

  it('closes a device that publishes to another device\'s outbox, and counts it', async () => {
    const outcome = await login(1, 'alice');
    expect(outcome.connected).toBe(true);
    const mark = events.length;
    outcome.client.publish(outboxTopic('bob', 'rpc'), Buffer.from('{}'), { qos: 1 });
    expect(await closedWithin(outcome.client, 10_000)).toBe(true);
    expect(violationsSince(mark)).toEqual(['alice']);
  });

  it('refuses a subscription to another device\'s inbox, and counts it', async () => {
    const outcome = await login(0, 'alice');
    expect(outcome.connected).toBe(true);
    const mark = events.length;
    const refused = await outcome.client.subscribeAsync(inboxFilter('bob'), { qos: 1 }).then((granted) => granted.map((grant) => grant.qos), () => 'closed');
    // RabbitMQ 3.10 answers SUBACK 0x80 or closes the connection: either way nothing is granted.
    expect(refused === 'closed' || (Array.isArray(refused) && refused[0] === 128) || !outcome.client.connected).toBe(true);
    expect(violationsSince(mark)).toEqual(['alice']);
    outcome.client.end(true);
  });

  it('a device id with a dot logs in and publishes to its own outbox (routing key words re-joined)', async () => {
    const connection = await amqp.connect(cluster().nodes[1]!.amqpUrl);
    try {
      const channel = await connection.createChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true });
      // RabbitMQ 3.10.8 maps only '/' to '.': the dot of `cam.1` stays, as a word boundary.
      await channel.bindQueue(queue, 'amq.topic', 'mqpay.v1.d.cam.1.out.#');
      const delivered = new Promise<string>((resolve) => void channel.consume(queue, (message) => resolve(message!.fields.routingKey), { noAck: true }));
      const outcome = await login(0, 'cam.1');
      expect(outcome.connected).toBe(true);
      await outcome.client.publishAsync(outboxTopic('cam.1', 'voucher-bin'), Buffer.from([1, 2, 3]), { qos: 1 });
      expect(await delivered).toBe('mqpay.v1.d.cam.1.out.voucher-bin');
      const mark = events.length;
      outcome.client.publish(outboxTopic('cam', 'voucher-bin'), Buffer.from([1]), { qos: 1 });
      expect(await closedWithin(outcome.client, 10_000)).toBe(true);
      expect(violationsSince(mark)).toEqual(['cam.1']);
    } finally {
      await connection.close();
    }
  });

  it('a device may not log in over AMQP: RabbitMQ names no MQTT client id, and the auth service refuses', async () => {
    const node = cluster().nodes[0]!;
    const mark = events.length;
    // (A binary token cannot even travel in AMQP's PLAIN mechanism: its NUL bytes separate fields.)
    await expect(amqp.connect(`amqp://alice:some-password@127.0.0.1:${node.amqpPort}/mqpay`)).rejects.toThrow();
    expect(failuresSince(mark)).toEqual(['NOT_AUTHORIZED']);
  });

  it('a will aimed at another device\'s outbox is never delivered, and is counted', async () => {
    const connection = await amqp.connect(cluster().nodes[0]!.amqpUrl);
    try {
      const channel = await connection.createChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true });
      await channel.bindQueue(queue, 'amq.topic', 'mqpay.v1.d.bob.out.#');
      const mark = events.length;
      const withWill = await tryConnect(nodeUrl(1), {
        clientId: 'alice', username: 'alice', password: password('alice'),
        will: { topic: outboxTopic('bob', 'rpc'), payload: Buffer.from('{}'), qos: 1, retain: false },
      });
      clients.push(withWill.client);
      // Refused at CONNECT, or accepted and the will refused when it would be published.
      if (withWill.connected) {
        (withWill.client as unknown as { stream: { destroy(): void } }).stream.destroy();
        await closedWithin(withWill.client, 10_000);
      }
      // The violation is the sign the will was judged; then nothing may have reached bob's outbox.
      await expect.poll(() => violationsSince(mark), { timeout: 10_000 }).toEqual(['alice']);
      expect(await channel.get(queue, { noAck: true })).toBe(false);
    } finally {
      await connection.close();
    }
  });

  it('the operator reads the ops topics on either node and may not publish', async () => {
    // Operators use a client id that is not a device id, so they can never take a device's session.
    const operator = await tryConnect(nodeUrl(1), { clientId: 'ops:watch', username: 'operator', password: OPERATOR_TOKEN });
    clients.push(operator.client);
    expect(operator.connected).toBe(true);
    const granted = await operator.client.subscribeAsync('mqpay/v1/ops/#', { qos: 1 });
    expect(granted.map((grant) => grant.qos)).toEqual([1]);
    const mark = events.length;
    operator.client.publish('mqpay/v1/ops/events', Buffer.from('{}'), { qos: 1 });
    expect(await closedWithin(operator.client, 10_000)).toBe(true);
    expect(violationsSince(mark)).toEqual(['ops:watch']);
    const mark2 = events.length;
    expect((await tryConnect(nodeUrl(0), { clientId: 'ops:watch', username: 'operator', password: 'not-the-operator-token' })).connected).toBe(false);
    expect((await tryConnect(nodeUrl(0), { clientId: 'alice', username: 'operator', password: OPERATOR_TOKEN })).connected).toBe(false);
    expect(failuresSince(mark2)).toEqual(['NOT_AUTHORIZED', 'NOT_AUTHORIZED']);
  });
});
