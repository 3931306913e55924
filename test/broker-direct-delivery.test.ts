// The service's QoS 0 inbox messages (voucher verdicts and forwards) are written straight to
// the subscribed device's connection, past aedes' routing, and go through aedes as before when
// the device is offline or not subscribed to a filter that matches (broker/mqtt/direct-delivery.ts).
// aedes' own 'publish' event tells which way a message went: the direct path does not raise it.
import { generate, parser as mqttParser, type IPublishPacket, type Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import mqtt from 'mqtt';
import { encodePublishQos0, inboxDeviceOf } from '../broker/mqtt/direct-delivery.js';
import { signConnectPassword } from '../shared/connect-token.js';
import { decodeVoucherInboxFrame, encodeVoucherAccepted } from '../shared/inbox-frames.js';
import { sign } from '../shared/crypto.js';
import { inboxTopic, outboxTopic, offerTopic } from '../shared/topics.js';
import { openChannel, payVoucher, random, signedVoucher, startBroker, nextInbox, type RunningBroker } from './helpers/broker-fixture.js';

function parsed(bytes: Buffer): Packet[] {
  const packets: Packet[] = [];
  const parser = mqttParser({ protocolVersion: 4 });
  parser.on('packet', (packet) => packets.push(packet));
  parser.parse(bytes);
  return packets;
}

describe('a QoS 0 PUBLISH built for direct delivery', () => {
  // 10, 200 and 20,000 bytes: remaining lengths of one, two and three bytes [MQTT-2.2.3].
  it.each([10, 200, 20_000])('is byte for byte what mqtt-packet writes, with a %i-byte payload', (size) => {
    const payload = Buffer.alloc(size, 0x5a);
    payload.writeUInt32BE(size, 0);
    const topic = inboxTopic('meter-7', 'voucher-bin');
    const bytes = encodePublishQos0(topic, payload);
    expect(bytes.equals(generate({ cmd: 'publish', topic, payload, qos: 0, dup: false, retain: false }))).toBe(true);
    const [packet] = parsed(bytes) as IPublishPacket[];
    expect(packet).toMatchObject({ cmd: 'publish', topic, qos: 0, retain: false, dup: false });
    expect(Buffer.from(packet?.payload as Buffer).equals(payload)).toBe(true);
  });

  it('is only for a device inbox topic', () => {
    expect(inboxDeviceOf(inboxTopic('meter-7', 'voucher-bin'))).toBe('meter-7');
    expect(inboxDeviceOf(outboxTopic('meter-7', 'voucher-bin'))).toBeNull();
    expect(inboxDeviceOf(offerTopic('meter-7'))).toBeNull();
    expect(inboxDeviceOf('mqpay/v1/d/meter-7/in/voucher-bin/extra')).toBeNull();
    expect(inboxDeviceOf('mqpay/v1/d//in/voucher-bin')).toBeNull();
  });
});

describe('inbox frames cut from shared slabs (shared/binary.ts)', () => {
  it('are independent views, across many slabs: each still decodes to its own values', () => {
    const channelId = new Uint8Array(32).fill(7);
    const frames = Array.from({ length: 2_000 }, (_, i) => encodeVoucherAccepted(channelId, BigInt(i + 1), BigInt(i) as never));
    expect(new Set(frames.map((frame) => frame.buffer)).size).toBeGreaterThan(1);
    frames.forEach((frame, i) => {
      expect(decodeVoucherInboxFrame(frame)).toMatchObject({ type: 'voucher.accepted', seq: BigInt(i + 1), total: BigInt(i) });
      expect(frame.byteOffset % 8).toBe(0);
    });
  });
});

describe('direct delivery of verdicts and forwards', () => {
  // One broker for the suite: each test has its own devices.
  let broker: RunningBroker;
  beforeAll(async () => (broker = await startBroker()));
  afterAll(() => broker.stop());

  /** Topics the service publishes through aedes (client null) during this test, in order. */
  function routedByAedes(): string[] {
    const topics: string[] = [];
    const onPublish = (packet: { topic: string }, client: unknown): void => {
      if (client === null && packet.topic.includes('/in/')) topics.push(packet.topic);
    };
    broker.app.mqtt.aedes.on('publish', onPublish);
    onTestFinished(() => void broker.app.mqtt.aedes.off('publish', onPublish));
    return topics;
  }

  it('writes the verdict and the forward straight to subscribed devices, and they arrive intact', async () => {
    const payerKeys = broker.enrol('bus-1', '5');
    const payeeKeys = broker.enrol('gate-1');
    const bus = await broker.link('bus-1', payerKeys);
    const gate = await broker.link('gate-1', payeeKeys);
    const channelId = await openChannel(bus, 'gate-1', '1');
    const routed = routedByAedes();
    const forwarded = nextInbox(gate, 'voucher', (m) => m.type === 'voucher');
    const verdict = await payVoucher(bus, signedVoucher(payerKeys, { channelId, seq: 1n, total: 1_000n as never }));
    expect(verdict).toMatchObject({ type: 'voucher.accepted', seq: '1', total: '0.001' });
    expect(await forwarded).toMatchObject({ type: 'voucher', payer: 'bus-1' });
    expect(routed).toEqual([]);
  });

  it('goes through aedes when the payee is offline, or subscribed to another box only', async () => {
    const payerKeys = broker.enrol('bus-2', '5');
    const payeeKeys = broker.enrol('gate-2');
    const bus = await broker.link('bus-2', payerKeys);
    const channelId = await openChannel(bus, 'gate-2', '1');
    const routed = routedByAedes();
    expect(await payVoucher(bus, signedVoucher(payerKeys, { channelId, seq: 1n, total: 1_000n as never }))).toMatchObject({ type: 'voucher.accepted' });
    // The payee is not connected: its forward went through aedes (to nobody); the verdict did not.
    await expect.poll(() => routed).toEqual([inboxTopic('gate-2', 'voucher-bin')]);

    // A payee subscribed to its rpc box only: the forward's topic matches none of its filters.
    const password = signConnectPassword({ device: 'gate-2', broker: 'mqpay', timeMs: Date.now(), nonce: random(16), secretKey: payeeKeys.secretKey, sign });
    const gate = await mqtt.connectAsync(broker.url, { clientId: 'gate-2', username: 'gate-2', password: Buffer.from(password) as unknown as string, protocolVersion: 4, reconnectPeriod: 0 });
    try {
      await gate.subscribeAsync(inboxTopic('gate-2', 'rpc'), { qos: 1 });
      expect(await payVoucher(bus, signedVoucher(payerKeys, { channelId, seq: 2n, total: 2_000n as never }))).toMatchObject({ type: 'voucher.accepted' });
      await expect.poll(() => routed).toEqual([inboxTopic('gate-2', 'voucher-bin'), inboxTopic('gate-2', 'voucher-bin')]);
    } finally {
      await gate.endAsync();
    }
  });
});
