// Offers are readable per seller but not enumerable: a device may subscribe to a seller it
// names; the wildcard over every seller closes its connection (test/broker-auth-acl.test.ts)
// unless the broker runs with --offers-wildcard, as here. Plus the warning a plain-text
// listener off loopback logs when --insecure-plaintext allows it.
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startBroker, type RunningBroker } from './helpers/broker-fixture.js';
import { deviceClient } from './helpers/broker-adversary.js';

describe('offers ACL and plain-text warnings', () => {
  let broker: RunningBroker | null = null;
  afterEach(async () => {
    await broker?.stop();
    broker = null;
  });

  it('a named seller is always readable; every seller only with offersWildcard', async () => {
    broker = await startBroker();
    const keys = broker.enrol('buyer-1');
    const named = await deviceClient(broker, 'buyer-1', keys);
    const granted = await named.subscribeAsync('mqpay/v1/offers/charger-1', { qos: 0 });
    expect(granted[0]?.qos).toBe(0);
    expect(named.connected).toBe(true);
    await named.endAsync();

    await broker.stop();
    broker = await startBroker({ offersWildcard: true });
    const allowedKeys = broker.enrol('buyer-1');
    const browsing = await deviceClient(broker, 'buyer-1', allowedKeys);
    const all = await browsing.subscribeAsync('mqpay/v1/offers/+', { qos: 0 });
    expect(all[0]?.qos).toBe(0);
    // A later round trip on the same connection: the broker did not close it.
    await browsing.subscribeAsync('mqpay/v1/offers/charger-2', { qos: 0 });
    expect(browsing.connected).toBe(true);
    await browsing.endAsync();
  });

  it('--insecure-plaintext on a non-loopback address binds, and warns in the log', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'warn' }, { write: (text: string) => void lines.push(JSON.parse(text) as Record<string, unknown>) });
    broker = await startBroker({ host: '0.0.0.0', insecurePlaintext: true }, undefined, { logger });
    expect(lines.find((line) => String(line.msg).startsWith('plain-text listener on a non-loopback address'))).toMatchObject({ host: '0.0.0.0' });
  });
});
