// Stopping the broker must not wait for devices to hang up: close() ends their sessions, flushes
// the ledger and returns, even with devices that would reconnect.
import { describe, expect, it } from 'vitest';
import { DeviceLink } from '../agent/link/link.js';
import { random, startBroker } from './helpers/broker-fixture.js';

// Only a failure guard, never a wait: none of these devices hangs up by itself (each would try to
// reconnect only after a minute), so a close() that waited for them would never return and this
// bound fails the test instead of hanging the run.
const CLOSE_GUARD_MS = 10_000;

describe('broker shutdown', () => {
  it('closes while devices are connected, ending their sessions instead of waiting for them', async () => {
    const broker = await startBroker();
    const links: DeviceLink[] = [];
    for (const id of ['dev-1', 'dev-2', 'dev-3']) {
      const keys = broker.enrol(id);
      links.push(await DeviceLink.connect({ url: broker.url, device: id, secretKey: keys.secretKey, brokerId: 'mqpay', clock: { nowMs: () => Date.now() }, random, reconnectPeriodMs: 60_000 }));
    }
    expect(links.every((link) => link.connected)).toBe(true);
    const ended = links.map((link) => new Promise<void>((resolve) => link.client.once('close', () => resolve())));
    await broker.app.close();
    expect(broker.app.db.open).toBe(false); // the ledger was flushed and closed
    await Promise.all(ended); // the broker ended every device's session; none hung up first
    await Promise.all(links.map((link) => link.close()));
    await broker.stop().catch(() => undefined); // already closed: this only removes its directory
  }, CLOSE_GUARD_MS);
});
