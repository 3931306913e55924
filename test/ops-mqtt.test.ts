// The operator MQTT streams (mqpay/v1/ops/#) with a plain MQTT.js client, as `mosquitto_sub`
// would read them: readable with the operator token, refused without it, never by a device.
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR_TOKEN, settledResult } from './helpers/broker-fixture.js';
import { openPayingChannel, startOpsBroker, type OpsBroker } from './helpers/ops-fixture.js';

let broker: OpsBroker;

beforeAll(async () => {
  broker = await startOpsBroker();
});
afterAll(async () => {
  await broker.stop();
});

type Outcome = { connected: boolean; client: mqtt.MqttClient };

function connect(options: mqtt.IClientOptions): Promise<Outcome> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${broker.mqttPort}`, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 3_000, ...options });
  return new Promise((resolve) => {
    client.once('connect', () => resolve({ connected: true, client }));
    client.once('error', () => resolve({ connected: false, client }));
    client.once('close', () => resolve({ connected: false, client }));
  });
}

describe('operator MQTT streams', () => {
  it('an operator client reads settlements and events from mqpay/v1/ops/#', async () => {
    const { connected, client } = await connect({ clientId: 'ops:watch', username: 'operator', password: OPERATOR_TOKEN });
    expect(connected).toBe(true);
    const messages: { topic: string; body: Record<string, unknown> }[] = [];
    client.on('message', (topic, payload) => messages.push({ topic, body: JSON.parse(payload.toString()) as Record<string, unknown> }));
    const granted = await client.subscribeAsync('mqpay/v1/ops/#', { qos: 1 });
    expect(granted[0]?.qos).toBe(1);
    try {
      const channel = await openPayingChannel(broker, { payer: 'car-1', payee: 'charger-1' }, { funds: '5', deposit: '1', step: '0.001' });
      await channel.pay(10);
      const result = await settledResult(broker.app.service.settleNow());
      await expect.poll(() => messages.find((m) => m.topic === 'mqpay/v1/ops/settlements'), { timeout: 5_000 }).toBeDefined();
      const settlement = messages.find((m) => m.topic === 'mqpay/v1/ops/settlements');
      expect(settlement?.body).toMatchObject({ type: 'settlement', id: result?.id, amount: '0.01', lines: [{ account: 'wallet:charger-1', amount: '0.01' }] });
      const connects = messages.filter((m) => m.topic === 'mqpay/v1/ops/events' && m.body.type === 'device.connected').map((m) => m.body.device);
      expect(connects).toEqual(['car-1', 'charger-1']);
      await broker.api('POST', '/api/devices/charger-1/disable');
      await expect.poll(() => messages.find((m) => m.body.type === 'device.disabled' && m.body.device === 'charger-1'), { timeout: 5_000 }).toBeDefined();
      await expect.poll(() => messages.find((m) => m.body.type === 'device.disconnected' && m.body.device === 'charger-1'), { timeout: 5_000 }).toBeDefined();
    } finally {
      await client.endAsync();
    }
  });

  it('is refused without the operator token, with a wrong one, and with a device-like client id', async () => {
    const failuresBefore = broker.app.service.telemetry.authFailures;
    for (const options of [
      { clientId: 'ops:anon' },
      { clientId: 'ops:guess', username: 'operator', password: 'wrong-token-wrong-token' },
      { clientId: 'car-9', username: 'operator', password: OPERATOR_TOKEN },
    ] satisfies mqtt.IClientOptions[]) {
      const outcome = await connect(options);
      expect(outcome.connected, JSON.stringify(options)).toBe(false);
      outcome.client.end(true);
    }
    expect(broker.app.service.telemetry.authFailures).toBe(failuresBefore + 3);
  });

  it('a device cannot subscribe to the operator streams (ACL violation closes it)', async () => {
    const keys = broker.enrol('sensor-1');
    const link = await broker.link('sensor-1', keys);
    const violations = broker.app.service.telemetry.aclViolations;
    await link.subscribe('mqpay/v1/ops/#').catch(() => undefined);
    await expect.poll(() => broker.app.service.telemetry.aclViolations, { timeout: 5_000 }).toBeGreaterThan(violations);
  });
});
