// Stopping the broker must not wait for devices to hang up: close() ends their sessions, flushes
// the ledger and returns promptly, even with devices that would reconnect.
import { describe, expect, it } from 'vitest';
import { DeviceLink } from '../agent/link/link.js';
import { random, startBroker } from './helpers/broker-fixture.js';

describe('broker shutdown', () => {
  it('closes within a second while devices are connected', async () => {
    const broker = await startBroker();
    const links: DeviceLink[] = [];
    for (const id of ['dev-1', 'dev-2', 'dev-3']) {
      const keys = broker.enrol(id);
      links.push(await DeviceLink.connect({ url: broker.url, device: id, secretKey: keys.secretKey, brokerId: 'mqpay', clock: { nowMs: () => Date.now() }, random, reconnectPeriodMs: 60_000 }));
    }
    const startedMs = Date.now();
    const outcome = await Promise.race([
      broker.app.close().then(() => 'closed'),
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 3_000)),
    ]);
    expect(outcome).toBe('closed');
    expect(Date.now() - startedMs).toBeLessThan(1_000);
    await Promise.all(links.map((link) => link.close()));
    await broker.stop().catch(() => undefined); // already closed: this only removes its directory
  });
});
