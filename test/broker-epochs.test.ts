// Epochs are numbered by a counter in the database, not by the wall clock: a service clock that
// steps back into an hour whose epochs were all settled, or jumps a day ahead, still settles the
// next epoch. The broker runs on an injected clock; everything else is real (aedes on loopback,
// MQTT.js, a SQLite file).
import { afterEach, describe, expect, it } from 'vitest';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { listSettlements } from '../broker/store/sqlite/settle.js';
import { amountOf } from '../shared/amount.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import { ShiftableClock } from './helpers/broker-adversary.js';
import { payVoucher, random, settledResult, signedVoucher, startBroker, tempDir, type RunningBroker } from './helpers/broker-fixture.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

let broker: RunningBroker | null = null;
afterEach(async () => {
  await broker?.stop();
  broker = null;
});

describe('epochs: a stored counter, not the wall clock', () => {
  it('settles every epoch of an hour, then after the clock steps back an hour, then after it jumps a day', async () => {
    const clock = new ShiftableClock();
    broker = await startBroker({ epochSeconds: 60 }, undefined, { clock });
    const keys = broker.enrol('car-1', '100');
    broker.enrol('charger-1');
    const car = await broker.link('car-1', keys);
    const channelId = newChannelId(random);
    await car.request('channel.open', { channel: toHex(channelId), payee: 'charger-1', deposit: '50', durationSeconds: 3 * 24 * 3600 });

    let seq = 0n;
    const payAndSettle = async (): Promise<string> => {
      seq += 1n;
      const voucher = signedVoucher(keys, { channelId, seq, total: amountOf(seq * 1_000n), expiresAtSeconds: clock.nowSeconds() + 3600n });
      expect((await payVoucher(car, voucher)).type).toBe('voucher.accepted');
      const settled = await settledResult(broker?.app.service.tick() ?? Promise.reject(new Error('no broker')));
      expect(settled.amount).toBe(1_000n); // exactly the one voucher since the last epoch
      return settled.id;
    };

    const ids: string[] = [];
    for (let minute = 0; minute < 60; minute++) {
      clock.advance(MINUTE_MS);
      ids.push(await payAndSettle());
    }
    // The clock steps back over the whole hour: every wall-clock slot in it was used.
    clock.advance(-HOUR_MS);
    ids.push(await payAndSettle());
    clock.advance(MINUTE_MS);
    ids.push(await payAndSettle());
    // And jumps a day ahead.
    clock.advance(DAY_MS);
    ids.push(await payAndSettle());

    expect(new Set(ids).size).toBe(ids.length);
    const numbers = ids.map((id) => Number(/^epoch-(\d+)$/.exec(id)?.[1]));
    expect(numbers).toEqual([...numbers].sort((x, y) => x - y)); // strictly increasing, whatever the clock did
    expect(numbers.every((number) => Number.isInteger(number) && number > 0)).toBe(true);
    expect(listSettlements(broker.app.db, 100)).toHaveLength(ids.length);
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ settledTotal: seq * 1_000n, latestTotal: seq * 1_000n });
    // Nothing left to settle: an epoch now moves nothing and says so.
    expect(await broker.app.service.tick()).toEqual({ kind: 'nothing' });
    expect(auditLedger(broker.app.db).filter((check) => !check.ok)).toEqual([]);
  });

  it('numbers survive a restart: a reopened broker continues after the last epoch it committed', async () => {
    const dir = tempDir();
    try {
      const first = await startBroker({}, dir.path);
      const keys = first.enrol('car-1', '10');
      first.enrol('charger-1');
      const car = await first.link('car-1', keys);
      const channelId = newChannelId(random);
      await car.request('channel.open', { channel: toHex(channelId), payee: 'charger-1', deposit: '5', durationSeconds: 3600 });
      expect((await payVoucher(car, signedVoucher(keys, { channelId, seq: 1n, total: amountOf(10n) }))).type).toBe('voucher.accepted');
      const before = await settledResult(first.app.service.tick());
      await first.stop();

      const second = await startBroker({}, dir.path);
      try {
        const again = await second.link('car-1', keys);
        expect((await payVoucher(again, signedVoucher(keys, { channelId, seq: 2n, total: amountOf(20n) }))).type).toBe('voucher.accepted');
        const after = await settledResult(second.app.service.tick());
        expect(Number(after.id.split('-')[1])).toBe(Number(before.id.split('-')[1]) + 1);
        expect(after.amount).toBe(10n);
      } finally {
        await second.stop();
      }
    } finally {
      dir.remove();
    }
  });
});
