// Bounds and failure isolation found in review: stored request answers stay bounded per device,
// a channel that cannot close on expiry does not stop the epoch (or crash the broker), and the
// operator login name cannot be enrolled as a device.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addDevice } from '../broker/store/sqlite/devices.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { statement } from '../sqlite/statement.js';
import { REQUEST_REPLAY_CACHE_ENTRIES_PER_DEVICE_MAX } from '../shared/limits.js';
import { newChannelId } from '../shared/ids.js';
import { toHex } from '../shared/hex.js';
import { generateKeyPair } from '../shared/keys.js';
import { ShiftableClock } from './helpers/broker-adversary.js';
import { errorCode } from './helpers/error-code.js';
import { random, startBroker, type RunningBroker } from './helpers/broker-fixture.js';

describe('broker bounds', () => {
  let broker: RunningBroker;
  const clock = new ShiftableClock();
  beforeEach(async () => {
    broker = await startBroker({ messagesPerSecondPerDevice: 100_000, messagesBurstPerDevice: 100_000 }, undefined, { clock });
  });
  afterEach(async () => {
    await broker.stop();
  });

  it('keeps at most REQUEST_REPLAY_CACHE_ENTRIES_PER_DEVICE_MAX stored answers per device', async () => {
    const keys = broker.enrol('car-b', '1');
    const car = await broker.link('car-b', keys);
    const extra = 40;
    // In batches: the link itself allows only so many requests in flight.
    for (let start = 0; start < REQUEST_REPLAY_CACHE_ENTRIES_PER_DEVICE_MAX + extra; start += 16) {
      const asks = [];
      for (let i = start; i < start + 16; i++) {
        asks.push(car.request('channel.close', { channel: toHex(newChannelId(random)) }, `close-${i}`).catch((error: unknown) => error));
      }
      const answers = await Promise.all(asks);
      expect(answers.every((answer) => (answer as { code?: string }).code === 'CHANNEL_UNKNOWN')).toBe(true);
    }
    const stored = statement(broker.app.db, 'SELECT count(*) AS n FROM requests WHERE device = ?').get('car-b') as { n: bigint };
    expect(stored.n).toBe(BigInt(REQUEST_REPLAY_CACHE_ENTRIES_PER_DEVICE_MAX));
  });

  it('closes every other expired channel when one cannot close, and tick() does not throw', async () => {
    const keys = broker.enrol('car-c', '10');
    broker.enrol('meter-c');
    const car = await broker.link('car-c', keys);
    const ids = [newChannelId(random), newChannelId(random)];
    for (const id of ids) await car.request('channel.open', { channel: toHex(id), payee: 'meter-c', deposit: '1', durationSeconds: 60 });
    const [stuck, fine] = ids as [Uint8Array, Uint8Array];
    broker.app.db.exec(`CREATE TEMP TRIGGER fail_refund BEFORE INSERT ON transfers WHEN NEW.id = 'refund:${toHex(stuck)}' BEGIN SELECT RAISE(ABORT, 'injected'); END;`);
    clock.advance(120_000);
    await broker.app.service.tick(); // both enter their dispute window
    expect(getChannel(broker.app.db, stuck)?.state).toBe('closing');
    clock.advance(broker.app.config.closeWindowSeconds * 1000);
    await expect(broker.app.service.tick()).resolves.toBeDefined();
    expect(getChannel(broker.app.db, stuck)?.state).toBe('closing');
    expect(getChannel(broker.app.db, fine)?.state).toBe('closed');
    broker.app.db.exec('DROP TRIGGER fail_refund');
    await broker.app.service.tick();
    expect(getChannel(broker.app.db, stuck)?.state).toBe('closed');
  });

  it('refuses to enrol a device named like the operator login', () => {
    expect(errorCode(() => addDevice(broker.app.db, 'operator', generateKeyPair(random).publicKey, Date.now()))).toBe('DEVICE_ID_INVALID');
  });
});
