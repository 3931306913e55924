// The broker's topic depth is the protocol's (TOPIC_LEVELS_MAX = 6): the deepest topics of the
// scheme (a device's outbox and inbox, `mqpay/v1/d/{device}/out|in/{kind}`, and the inbox filter
// `…/in/#`) still work end to end, and one level more is refused by aedes itself, before any hook,
// by closing the connection, with the ledger unchanged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPIC_LEVELS_MAX } from '../shared/limits.js';
import { inboxFilter, inboxTopic, outboxTopic } from '../shared/topics.js';
import { closedWithin, deviceClient, expectLedgerUnchanged, ledgerFingerprint, rawRequest, requestId } from './helpers/broker-adversary.js';
import { startBroker, type RunningBroker } from './helpers/broker-fixture.js';
import type { KeyPair } from '../shared/keys.js';

const levels = (topic: string): number => topic.split('/').length;

describe('broker: topic depth', () => {
  let broker: RunningBroker;
  let keys: KeyPair;

  beforeAll(async () => {
    broker = await startBroker();
    keys = broker.enrol('sensor-1', '1');
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('the scheme\'s deepest topics have exactly TOPIC_LEVELS_MAX levels', () => {
    expect(TOPIC_LEVELS_MAX).toBe(6);
    expect(levels(outboxTopic('sensor-1', 'rpc'))).toBe(TOPIC_LEVELS_MAX);
    expect(levels(inboxTopic('sensor-1', 'rpc'))).toBe(TOPIC_LEVELS_MAX);
    expect(levels(inboxFilter('sensor-1'))).toBe(TOPIC_LEVELS_MAX);
  });

  it('a request on a 6-level outbox topic is answered on the 6-level inbox it subscribed with …/in/#', async () => {
    const client = await deviceClient(broker, 'sensor-1', keys);
    try {
      const id = requestId('depth');
      const reply = await rawRequest(client, 'sensor-1', { v: 3, id, method: 'wallet.balance', params: {} }, id);
      expect(reply).toMatchObject({ id, ok: true, result: { device: 'sensor-1', balance: '1' } });
    } finally {
      client.end(true);
    }
  });

  it.each([
    ['a publish one level deeper than the outbox', (device: string) => ({ publish: `${outboxTopic(device, 'rpc')}/x` })],
    ['a subscription one level deeper than the inbox', (device: string) => ({ subscribe: `${inboxTopic(device, 'rpc')}/#` })],
  ])('%s is refused and closes the connection', async (_name, topicOf) => {
    const before = ledgerFingerprint(broker.app.db);
    const violations = broker.app.service.telemetry.aclViolations;
    const client = await deviceClient(broker, 'sensor-1', keys);
    const closed = closedWithin(client);
    const act = topicOf('sensor-1');
    if ('publish' in act) {
      expect(levels(act.publish)).toBe(TOPIC_LEVELS_MAX + 1);
      client.publish(act.publish, JSON.stringify({ v: 3, id: 'deep-1', method: 'wallet.balance', params: {} }), { qos: 1 });
    } else {
      expect(levels(act.subscribe)).toBe(TOPIC_LEVELS_MAX + 1);
      client.subscribe(act.subscribe, { qos: 1 });
    }
    expect(await closed).toBe(true);
    client.end(true);
    expectLedgerUnchanged(broker.app.db, before);
    // aedes refused it before authorizePublish/authorizeSubscribe ran: the ACL never saw it.
    expect(broker.app.service.telemetry.aclViolations).toBe(violations);
  });
});
