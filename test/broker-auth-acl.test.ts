// Authentication and ACL, attacked with hand-made MQTT clients against a real aedes broker:
// replayed, foreign, stale and mis-addressed connect tokens; impostors using another device's id
// (refused, and the real device's session is untouched); operators (read-only ops streams);
// publishes and subscriptions outside a device's own subtree (disconnected and counted); wills
// outside the own outbox (refused). Nothing of it may change the ledger.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceLink } from '../agent/link/link.js';
import { setDeviceStatus } from '../broker/store/sqlite/devices.js';
import { generateKeyPair, type KeyPair } from '../shared/keys.js';
import { CONNECT_TOKEN_AGE_MS_MAX } from '../shared/limits.js';
import { inboxTopic, outboxTopic } from '../shared/topics.js';
import {
  closedWithin, connectPassword, deviceClient, expectLedgerUnchanged, ledgerFingerprint, linkRequest, micro, nextMessage, openChannel, rawRequest, requestId, tryConnect,
  type LedgerFingerprint,
} from './helpers/broker-adversary.js';
import { OPERATOR_TOKEN, payVoucher, random, signedVoucher, startBroker, type RunningBroker, settledResult } from './helpers/broker-fixture.js';

// CONNACK return codes [MQTT-3.2.2.3].
const IDENTIFIER_REJECTED = 2;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

/** The SUBACK return codes for one filter; MQTT.js rejects on 0x80, with the SUBACK packet attached. */
async function subackCodes(client: MqttClient, filter: string, qos: 0 | 1): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filter, { qos })).map((grant) => grant.qos);
  } catch (error) {
    const granted = (error as { packet?: { granted?: number[] } }).packet?.granted;
    if (granted === undefined) throw error;
    return granted;
  }
}

describe('broker: authentication and ACL', () => {
  let broker: RunningBroker;
  let carKeys: KeyPair;
  let chargerKeys: KeyPair;
  let malloryKeys: KeyPair;
  let car: DeviceLink;
  let charger: DeviceLink;
  let carCloses = 0;
  let brokerId: string;

  beforeAll(async () => {
    broker = await startBroker();
    brokerId = broker.app.config.brokerId;
    carKeys = broker.enrol('car-1', '10');
    chargerKeys = broker.enrol('charger-1', '1');
    malloryKeys = broker.enrol('mallory', '1');
    car = await broker.link('car-1', carKeys);
    charger = await broker.link('charger-1', chargerKeys);
    car.client.on('close', () => {
      carCloses += 1;
    });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  /**
   * The real car's session still works: it gets a reply, and no close was seen before it. The
   * reply is the sentinel: it travels on the car's connection after anything the broker did to
   * that connection earlier, so a kick would have been seen (or the reply would never come).
   */
  async function expectCarSessionUntouched(): Promise<void> {
    expect(await car.request('wallet.balance', {})).toMatchObject({ device: 'car-1' });
    expect(carCloses).toBe(0);
    expect(car.connected).toBe(true);
    expect(broker.app.mqtt.online.has('car-1')).toBe(true);
  }

  const password = (device: string, keys: KeyPair, extra: { broker?: string; timeMs?: number } = {}) =>
    connectPassword({ device, broker: extra.broker ?? brokerId, keys, ...(extra.timeMs === undefined ? {} : { timeMs: extra.timeMs }) });

  /** Tries a connection that must be refused with `returnCode`, counted, and change nothing. */
  async function expectRefused(options: Parameters<typeof tryConnect>[1], returnCode: number): Promise<void> {
    const before = ledgerFingerprint(broker.app.db);
    const failures = broker.app.service.telemetry.authFailures;
    const outcome = await tryConnect(broker.url, options);
    expect(outcome.connected).toBe(false);
    expect(outcome.returnCode).toBe(returnCode);
    expect(broker.app.service.telemetry.authFailures).toBe(failures + 1);
    expectLedgerUnchanged(broker.app.db, before);
  }

  describe('device connect tokens', () => {
    it('a valid token connects (control)', async () => {
      const outcome = await tryConnect(broker.url, { clientId: 'mallory', username: 'mallory', password: password('mallory', malloryKeys) });
      expect(outcome.connected).toBe(true);
      await outcome.client.endAsync();
    });

    it('a replayed token is refused, after the first connection ended and while it is still up', async () => {
      const token = password('mallory', malloryKeys);
      const first = await tryConnect(broker.url, { clientId: 'mallory', username: 'mallory', password: token });
      expect(first.connected).toBe(true);
      let firstCloses = 0;
      first.client.on('close', () => {
        firstCloses += 1;
      });
      // An eavesdropper replays the captured bytes while the device is online: refused, no takeover.
      await expectRefused({ clientId: 'mallory', username: 'mallory', password: Buffer.from(token) }, NOT_AUTHORIZED);
      // The reply on the first connection is the sentinel: a kick would have come before it.
      await first.client.subscribeAsync(inboxTopic('mallory', 'rpc'), { qos: 1 });
      const id = requestId('still-up');
      expect(await rawRequest(first.client, 'mallory', { v: 3, id, method: 'wallet.balance', params: {} }, id)).toMatchObject({ ok: true });
      expect(firstCloses).toBe(0);
      await first.client.endAsync();
      // And after it ended.
      await expectRefused({ clientId: 'mallory', username: 'mallory', password: Buffer.from(token) }, NOT_AUTHORIZED);
    });

    it('a token signed by another key is refused', async () => {
      await expectRefused({ clientId: 'mallory', username: 'mallory', password: password('mallory', carKeys) }, BAD_USERNAME_OR_PASSWORD);
    });

    it('a token for another broker id is refused', async () => {
      await expectRefused({ clientId: 'mallory', username: 'mallory', password: password('mallory', malloryKeys, { broker: 'other-broker' }) }, BAD_USERNAME_OR_PASSWORD);
    });

    it('a token for another device is refused', async () => {
      // Signed correctly by mallory, but it names the car.
      await expectRefused({ clientId: 'mallory', username: 'mallory', password: password('car-1', malloryKeys) }, BAD_USERNAME_OR_PASSWORD);
    });

    it('a token 10 minutes old, or 10 minutes ahead, is refused; just inside the window is accepted', async () => {
      await expectRefused({ clientId: 'mallory', username: 'mallory', password: password('mallory', malloryKeys, { timeMs: Date.now() - 10 * 60_000 }) }, BAD_USERNAME_OR_PASSWORD);
      await expectRefused({ clientId: 'mallory', username: 'mallory', password: password('mallory', malloryKeys, { timeMs: Date.now() + 10 * 60_000 }) }, BAD_USERNAME_OR_PASSWORD);
      // A device that has not connected yet: any time inside the window is later than its last.
      const fresh = broker.enrol('fresh-1');
      const inside = await tryConnect(broker.url, { clientId: 'fresh-1', username: 'fresh-1', password: password('fresh-1', fresh, { timeMs: Date.now() - CONNECT_TOKEN_AGE_MS_MAX + 10_000 }) });
      expect(inside.connected).toBe(true);
      await inside.client.endAsync();
    });

    it('a token older than the last one the device used is refused, even inside the window', async () => {
      const keys = broker.enrol('fresh-2');
      const now = Date.now();
      const first = await tryConnect(broker.url, { clientId: 'fresh-2', username: 'fresh-2', password: password('fresh-2', keys, { timeMs: now }) });
      expect(first.connected).toBe(true);
      await first.client.endAsync();
      await expectRefused({ clientId: 'fresh-2', username: 'fresh-2', password: password('fresh-2', keys, { timeMs: now - 1_000 }) }, NOT_AUTHORIZED);
    });

    it('a missing, empty, truncated or garbage password is refused', async () => {
      const good = password('mallory', malloryKeys);
      await expectRefused({ clientId: 'mallory', username: 'mallory' }, BAD_USERNAME_OR_PASSWORD);
      await expectRefused({ clientId: 'mallory', username: 'mallory', password: Buffer.alloc(0) }, BAD_USERNAME_OR_PASSWORD);
      await expectRefused({ clientId: 'mallory', username: 'mallory', password: good.subarray(0, good.length - 1) }, BAD_USERNAME_OR_PASSWORD);
      await expectRefused({ clientId: 'mallory', username: 'mallory', password: Buffer.alloc(good.length, 0xab) }, BAD_USERNAME_OR_PASSWORD);
    });

    it('a clientId different from the username is refused', async () => {
      await expectRefused({ clientId: 'mallory-2', username: 'mallory', password: password('mallory', malloryKeys) }, IDENTIFIER_REJECTED);
    });

    it('an unknown device is refused', async () => {
      const ghost = generateKeyPair(random);
      await expectRefused({ clientId: 'ghost', username: 'ghost', password: password('ghost', ghost) }, NOT_AUTHORIZED);
    });

    it('a disabled device is refused, with an otherwise perfect token', async () => {
      const keys = broker.enrol('retired', '1');
      setDeviceStatus(broker.app.db, 'retired', 'disabled');
      await expectRefused({ clientId: 'retired', username: 'retired', password: password('retired', keys) }, IDENTIFIER_REJECTED);
    });

    it("an impostor using another device's id with a wrong token is refused and that device's session is untouched", async () => {
      await expectCarSessionUntouched();
      // Own key, car's id.
      await expectRefused({ clientId: 'car-1', username: 'car-1', password: password('car-1', malloryKeys) }, BAD_USERNAME_OR_PASSWORD);
      // No password at all.
      await expectRefused({ clientId: 'car-1', username: 'car-1' }, BAD_USERNAME_OR_PASSWORD);
      // A perfectly valid mallory login, but with the car's clientId (would take over its session).
      await expectRefused({ clientId: 'car-1', username: 'mallory', password: password('mallory', malloryKeys) }, IDENTIFIER_REJECTED);
      // The operator token with the car's clientId.
      await expectRefused({ clientId: 'car-1', username: 'operator', password: OPERATOR_TOKEN }, IDENTIFIER_REJECTED);
      await expectCarSessionUntouched();
    });
  });

  describe('operators', () => {
    it('an operator with a wrong token, or without credentials, is refused', async () => {
      await expectRefused({ clientId: 'ops:watch', username: 'operator', password: `${OPERATOR_TOKEN}x` }, BAD_USERNAME_OR_PASSWORD);
      await expectRefused({ clientId: 'ops:watch', username: 'operator', password: OPERATOR_TOKEN.slice(0, -1) }, BAD_USERNAME_OR_PASSWORD);
      await expectRefused({ clientId: 'ops:watch', username: 'operator' }, BAD_USERNAME_OR_PASSWORD);
      await expectRefused({ clientId: 'ops:watch' }, IDENTIFIER_REJECTED);
    });

    it('an operator with the right token reads mqpay/v1/ops/# and sees a settlement after an accepted voucher', async () => {
      const outcome = await tryConnect(broker.url, { clientId: 'ops:watch', username: 'operator', password: OPERATOR_TOKEN });
      expect(outcome.connected).toBe(true);
      const ops = outcome.client;
      const granted = await ops.subscribeAsync('mqpay/v1/ops/#', { qos: 1 });
      expect(granted.map((g) => g.qos)).toEqual([1]);

      const channelId = await openChannel(car, 'charger-1', '1');
      expect(await payVoucher(car, signedVoucher(carKeys, { channelId, seq: 1n, total: micro(250n) }))).toMatchObject({ type: 'voucher.accepted' });
      const settlement = nextMessage(ops, 'mqpay/v1/ops/settlements', (m) => m.type === 'settlement');
      const result = await settledResult(broker.app.service.tick());
      expect(result?.amount).toBe(250n);
      expect(await settlement).toMatchObject({ type: 'settlement', id: result?.id, amount: '0.00025', channels: 1 });
      await ops.endAsync();
    });

    it('an operator is read-only: reading a device inbox is refused (SUBACK 0x80), publishing anywhere disconnects it', async () => {
      for (const filter of [inboxTopic('car-1', 'rpc'), '#']) {
        const outcome = await tryConnect(broker.url, { clientId: 'ops:watch', username: 'operator', password: OPERATOR_TOKEN });
        expect(outcome.connected).toBe(true);
        const violations = broker.app.service.telemetry.aclViolations;
        expect(await subackCodes(outcome.client, filter, 0)).toEqual([128]);
        expect(broker.app.service.telemetry.aclViolations).toBe(violations + 1);
        expect((await outcome.client.subscribeAsync('mqpay/v1/ops/#', { qos: 0 })).map((grant) => grant.qos)).toEqual([0]); // still connected and served
        await outcome.client.endAsync();
      }
      for (const act of [
        (c: MqttClient) => c.publish(outboxTopic('car-1', 'rpc'), JSON.stringify({ v: 3, id: 'op-1', method: 'wallet.balance', params: {} }), { qos: 1 }),
        (c: MqttClient) => c.publish('mqpay/v1/ops/settlements', '{}', { qos: 0 }),
      ]) {
        const outcome = await tryConnect(broker.url, { clientId: 'ops:watch', username: 'operator', password: OPERATOR_TOKEN });
        expect(outcome.connected).toBe(true);
        const violations = broker.app.service.telemetry.aclViolations;
        const closed = closedWithin(outcome.client);
        act(outcome.client);
        expect(await closed).toBe(true);
        expect(broker.app.service.telemetry.aclViolations).toBe(violations + 1);
        outcome.client.end(true);
      }
    });
  });

  describe('ACL: publishing outside the own subtree disconnects, subscribing outside it is refused; both are counted and change nothing', () => {
    let before: LedgerFingerprint;
    let chargerInbox: string[] = [];
    beforeAll(() => {
      charger.client.on('message', (topic: string, payload: Buffer) => {
        chargerInbox.push(`${topic} ${payload.toString('utf8')}`);
      });
    });

    const forged = JSON.stringify({ v: 3, type: 'voucher.accepted', channel: '00'.repeat(32), seq: '1', total: '1000' });
    const cases: [string, (c: MqttClient) => void][] = [
      ["publish to another device's outbox", (c) => c.publish(outboxTopic('car-1', 'rpc'), JSON.stringify({ v: 3, id: 'x1', method: 'channel.close', params: { channel: '00'.repeat(32) } }), { qos: 1 })],
      ["publish to another device's inbox", (c) => c.publish(inboxTopic('charger-1', 'voucher'), forged, { qos: 1 })],
      ['publish to its own inbox (only the service writes inboxes)', (c) => c.publish(inboxTopic('mallory', 'voucher'), forged, { qos: 1 })],
      ['publish to $SYS/x', (c) => c.publish('$SYS/x', 'hello', { qos: 0 })],
      ['publish to the operator stream', (c) => c.publish('mqpay/v1/ops/settlements', '{}', { qos: 1 })],
      ['publish to the offers topic directly', (c) => c.publish('mqpay/v1/offers/mallory', '{}', { qos: 1 })],
      ['publish outside the mqpay tree', (c) => c.publish('foo/bar', 'x', { qos: 0 })],
      ['publish to an unknown outbox kind', (c) => c.publish('mqpay/v1/d/mallory/out/withdraw', '{}', { qos: 1 })],
      ['a retained publish to its own outbox', (c) => c.publish(outboxTopic('mallory', 'rpc'), JSON.stringify({ v: 3, id: 'r1', method: 'wallet.balance', params: {} }), { qos: 1, retain: true })],
    ];

    it.each(cases)('%s', async (_name, act) => {
      before = ledgerFingerprint(broker.app.db);
      chargerInbox = [];
      const client = await deviceClient(broker, 'mallory', malloryKeys);
      const violations = broker.app.service.telemetry.aclViolations;
      const closed = closedWithin(client);
      act(client);
      expect(await closed).toBe(true);
      expect(broker.app.service.telemetry.aclViolations).toBe(violations + 1);
      client.end(true);
      // Sentinel: a reply to the charger's own request, published after mallory's connection was
      // closed, reaches the charger after anything forged that the broker had let through.
      const sentinel = requestId('sentinel');
      expect(await linkRequest(charger, 'charger-1', 'wallet.balance', {}, sentinel)).toMatchObject({ ok: true });
      const sentinelReply = (line: string) => line.startsWith(`${inboxTopic('charger-1', 'rpc')} `) && (JSON.parse(line.slice(line.indexOf(' ') + 1)) as { id?: unknown }).id === sentinel;
      expect(chargerInbox.filter((line) => !sentinelReply(line))).toEqual([]); // nothing forged reached the charger
      expectLedgerUnchanged(broker.app.db, before);
      await expectCarSessionUntouched();
    });

    const refusedFilters: [string, string][] = [
      ["subscribe to another device's inbox", inboxTopic('car-1', 'voucher')],
      ["subscribe to another device's whole inbox", 'mqpay/v1/d/car-1/in/#'],
      ['subscribe to mqpay/v1/d/+/in/#', 'mqpay/v1/d/+/in/#'],
      ['subscribe to every outbox', 'mqpay/v1/d/+/out/+'],
      ['subscribe to its own outbox', 'mqpay/v1/d/mallory/out/#'],
      ['subscribe to #', '#'],
      ['subscribe to $SYS/#', '$SYS/#'],
      ['subscribe to the operator streams', 'mqpay/v1/ops/#'],
      ['subscribe to mqpay/#', 'mqpay/#'],
      ["subscribe to every seller's offers (no --offers-wildcard)", 'mqpay/v1/offers/+'],
    ];

    it.each(refusedFilters)('%s: SUBACK 0x80, counted, the connection stays, and nothing arrives through it', async (_name, filter) => {
      const client = await deviceClient(broker, 'mallory', malloryKeys);
      const received: string[] = [];
      client.on('message', (topic: string) => received.push(topic));
      let closes = 0;
      client.on('close', () => {
        closes += 1;
      });
      const violations = broker.app.service.telemetry.aclViolations;
      expect(await subackCodes(client, filter, 1)).toEqual([128]);
      expect(broker.app.service.telemetry.aclViolations).toBe(violations + 1);
      // Traffic on the other devices' inboxes, then mallory's own request on the same connection:
      // its reply is the sentinel (a kick, or a leak through the refused filter, would come first).
      expect(await linkRequest(car, 'car-1', 'wallet.balance', {}, requestId('car'))).toMatchObject({ ok: true });
      const id = requestId('mallory');
      expect(await rawRequest(client, 'mallory', { v: 3, id, method: 'wallet.balance', params: {} }, id)).toMatchObject({ ok: true });
      expect(closes).toBe(0);
      expect(received.every((topic) => topic.startsWith('mqpay/v1/d/mallory/in/'))).toBe(true);
      await client.endAsync();
    });

    it('a device may subscribe to every box of its own inbox with + (control)', async () => {
      const client = await deviceClient(broker, 'mallory', malloryKeys);
      const violations = broker.app.service.telemetry.aclViolations;
      const granted = await client.subscribeAsync('mqpay/v1/d/mallory/in/+', { qos: 1 });
      expect(granted.map((grant) => grant.qos)).toEqual([1]);
      expect(broker.app.service.telemetry.aclViolations).toBe(violations);
      await client.endAsync();
    });

    it('its own inbox subscription and outbox publish are fine (control)', async () => {
      const client = await deviceClient(broker, 'mallory', malloryKeys);
      const id = requestId('ok');
      expect(await rawRequest(client, 'mallory', { v: 3, id, method: 'wallet.balance', params: {} }, id)).toMatchObject({ ok: true, result: { device: 'mallory' } });
      expect(client.connected).toBe(true);
      await client.endAsync();
    });
  });

  describe('ACL: wills', () => {
    const will = (topic: string, retain = false) => ({ topic, payload: Buffer.from('{}'), qos: 0 as const, retain });

    it.each([
      ["another device's outbox", will(outboxTopic('car-1', 'rpc'))],
      ["another device's inbox", will(inboxTopic('charger-1', 'notice'))],
      ['its own inbox', will(inboxTopic('mallory', 'notice'))],
      ['$SYS', will('$SYS/mallory/gone')],
      ['the operator stream', will('mqpay/v1/ops/events')],
      ['a retained will in its own outbox', will(outboxTopic('mallory', 'rpc'), true)],
    ])('a will on %s -> the connection is refused and counted', async (_name, lastWill) => {
      const before = ledgerFingerprint(broker.app.db);
      const violations = broker.app.service.telemetry.aclViolations;
      const outcome = await tryConnect(broker.url, { clientId: 'mallory', username: 'mallory', password: password('mallory', malloryKeys), will: lastWill });
      expect(outcome.connected).toBe(false);
      expect(broker.app.service.telemetry.aclViolations).toBe(violations + 1);
      expectLedgerUnchanged(broker.app.db, before);
    });

    it('a will in its own outbox is accepted (control)', async () => {
      const outcome = await tryConnect(broker.url, { clientId: 'mallory', username: 'mallory', password: password('mallory', malloryKeys), will: will(outboxTopic('mallory', 'rpc')) });
      expect(outcome.connected).toBe(true);
      await outcome.client.endAsync();
    });
  });
});
