// Persist before acknowledge when SQLite refuses a commit: a voucher whose batch fails is
// answered with an error, and so is a re-send of it that arrived while the batch was open. Only
// a later re-send, once the store works again, is accepted. The failure is real (a trigger on
// the broker's own connection aborts the insert), not a mock.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { amountOf } from '../shared/amount.js';
import { newChannelId } from '../shared/ids.js';
import { toHex } from '../shared/hex.js';
import { payVoucher, random, signedVoucher, startBroker, type RunningBroker } from './helpers/broker-fixture.js';

describe('broker: a failed voucher commit is never acknowledged', () => {
  let broker: RunningBroker;
  beforeEach(async () => {
    broker = await startBroker();
  });
  afterEach(async () => {
    await broker.stop();
  });

  it('answers the voucher and its same-turn re-send with SERVICE_UNAVAILABLE, then accepts a later re-send', async () => {
    const keys = broker.enrol('car-9', '5');
    broker.enrol('meter-9');
    const car = await broker.link('car-9', keys);
    const channelId = newChannelId(random);
    await car.request('channel.open', { channel: toHex(channelId), payee: 'meter-9', deposit: '1', durationSeconds: 600 });
    expect((await payVoucher(car, signedVoucher(keys, { channelId, seq: 1n, total: amountOf(100n) }))).type).toBe('voucher.accepted');

    broker.app.db.exec("CREATE TEMP TRIGGER fail_seq_2 BEFORE INSERT ON vouchers WHEN NEW.seq = 2 BEGIN SELECT RAISE(ABORT, 'injected disk failure'); END;");
    const second = signedVoucher(keys, { channelId, seq: 2n, total: amountOf(200n) });
    // Both copies are published in one go, so the re-send arrives while the first is in its batch.
    const replies: Record<string, unknown>[] = [];
    car.on('inbox', (box: string, payload: Uint8Array) => {
      if (box !== 'voucher') return; // the JSON verdicts (the binary box answers payVoucher's frames)
      const message = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
      if (message.seq === '2') replies.push(message);
    });
    await Promise.all([car.publish('voucher', second), car.publish('voucher', second)]);
    await expect.poll(() => replies.length).toBe(2);
    expect(replies.map((reply) => reply.type)).toEqual(['voucher.rejected', 'voucher.rejected']);
    expect(replies.map((reply) => (reply.error as { code: string }).code)).toEqual(['SERVICE_UNAVAILABLE', 'SERVICE_UNAVAILABLE']);
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ latestSeq: 1n, latestTotal: 100n });

    broker.app.db.exec('DROP TRIGGER fail_seq_2');
    expect((await payVoucher(car, second)).type).toBe('voucher.accepted');
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ latestSeq: 2n, latestTotal: 200n });
    expect(auditLedger(broker.app.db).filter((check) => !check.ok)).toEqual([]);
  });
});
