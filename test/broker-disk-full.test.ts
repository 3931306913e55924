// A full disk: SQLite's max_page_count on the broker's own connection, set to the pages the file
// has, makes every write that needs a new page fail with SQLITE_FULL, as a full disk would. The
// broker must refuse cleanly: retryable SERVICE_UNAVAILABLE answers, no crash, nothing
// acknowledged that was not stored; and recover once space returns (max_page_count raised).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { findVoucher, getChannel } from '../broker/store/sqlite/channels.js';
import { amountOf } from '../shared/amount.js';
import { newChannelId } from '../shared/ids.js';
import { toHex } from '../shared/hex.js';
import { linkRequest, requestId } from './helpers/broker-adversary.js';
import { payVoucher, random, signedVoucher, startBroker, type RunningBroker } from './helpers/broker-fixture.js';

const VOUCHERS_MAX = 20_000n;
const pagesOf = (broker: RunningBroker): bigint => broker.app.db.pragma('page_count', { simple: true }) as bigint;

describe('broker: a full disk', () => {
  let broker: RunningBroker;
  beforeEach(async () => {
    // Every voucher kept, so that vouchers grow the file until it is full (the log keeps only
    // each channel's newest few by default, and then a channel's vouchers need no new pages).
    broker = await startBroker({}, undefined, { vouchersKeptPerChannel: Number.MAX_SAFE_INTEGER });
  });
  afterEach(async () => {
    await broker.stop();
  });

  it('refuses vouchers and requests with retryable SERVICE_UNAVAILABLE, acknowledges nothing unstored, and recovers when space returns', async () => {
    const keys = broker.enrol('car-full', '50');
    broker.enrol('meter-full');
    const car = await broker.link('car-full', keys);
    const channelId = newChannelId(random);
    await car.request('channel.open', { channel: toHex(channelId), payee: 'meter-full', deposit: '10', durationSeconds: 600 });
    expect((await payVoucher(car, signedVoucher(keys, { channelId, seq: 1n, total: amountOf(100n) }))).type).toBe('voucher.accepted');
    await broker.app.service.flush();

    // The disk is full: no page beyond those the file has now.
    const normalMax = broker.app.db.pragma('max_page_count', { simple: true }) as bigint;
    broker.app.db.pragma(`max_page_count = ${pagesOf(broker)}`);

    // Vouchers until the file needs a page it cannot have (the first ones fit in free space).
    let seq = 1n;
    let refused: Record<string, unknown> | null = null;
    while (refused === null && seq < VOUCHERS_MAX) {
      seq += 1n;
      const reply = await payVoucher(car, signedVoucher(keys, { channelId, seq, total: amountOf(seq * 100n) }));
      if (reply.type !== 'voucher.accepted') refused = reply;
    }
    expect(refused?.error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true });
    const lastAccepted = seq - 1n;
    // The refused voucher and its successors: refused the same way, every time; none stored.
    for (let again = 0n; again < 5n; again++) {
      const reply = await payVoucher(car, signedVoucher(keys, { channelId, seq: seq + again, total: amountOf((seq + again) * 100n) }));
      expect(reply).toMatchObject({ type: 'voucher.rejected', error: { code: 'SERVICE_UNAVAILABLE', retryable: true } });
    }
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ latestSeq: lastAccepted, latestTotal: lastAccepted * 100n });
    expect(findVoucher(broker.app.db, channelId, seq)).toBeNull();

    // A request that writes: refused, retryable, and no channel appears.
    const newChannel = newChannelId(random);
    const open = await linkRequest(car, 'car-full', 'channel.open', { channel: toHex(newChannel), payee: 'meter-full', deposit: '1', durationSeconds: 600 }, requestId('full'));
    expect(open).toMatchObject({ ok: false, error: { code: 'SERVICE_UNAVAILABLE', retryable: true } });
    expect(getChannel(broker.app.db, newChannel)).toBeNull();
    // A settlement that does not fit is logged and left for the next epoch; the process goes on.
    const during = await broker.app.service.tick();
    expect(['nothing', 'settled']).toContain(during.kind);
    // Reads are still served meanwhile.
    expect(await car.request('wallet.balance', {})).toMatchObject({ device: 'car-full' });
    expect(auditLedger(broker.app.db).filter((check) => !check.ok)).toEqual([]);

    // Space returns: the device's retry of the refused voucher is accepted, and the rest follows.
    broker.app.db.pragma(`max_page_count = ${normalMax}`);
    expect((await payVoucher(car, signedVoucher(keys, { channelId, seq, total: amountOf(seq * 100n) }))).type).toBe('voucher.accepted');
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ latestSeq: seq, latestTotal: seq * 100n });
    expect(await linkRequest(car, 'car-full', 'channel.open', { channel: toHex(newChannel), payee: 'meter-full', deposit: '1', durationSeconds: 600 }, requestId('full-again'))).toMatchObject({ ok: true });
    await broker.app.service.tick();
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ settledTotal: seq * 100n });
    expect(auditLedger(broker.app.db).filter((check) => !check.ok)).toEqual([]);
  });
});
