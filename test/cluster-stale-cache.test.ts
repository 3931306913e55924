// The cluster's stale-cache rule [docs/DESIGN.md rule 16]: several workers share one store, and
// each keeps its own channel cache. Here broker A judges vouchers from its cache while a second
// service (B) over the same ledger file changes the channel under it: B opens the dispute window,
// or re-keys the payer. A's cache never accepts a voucher the store forbids: the store's
// conditional update refuses a voucher on a closing channel, and A (storeShared) re-checks the
// payer's key in the savepoint of each voucher, checkpoint and tick write. Without storeShared,
// the stale key is accepted: that control case shows the check is what holds.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createBrokerApp, type BrokerApp } from '../broker/app.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { amountOf } from '../shared/amount.js';
import { generateKeyPair } from '../shared/keys.js';
import { TickVerdicts, testChain, tickFrame } from './helpers/tick-payer.js';
import { OPERATOR_TOKEN, openChannel, payVoucher, random, signedVoucher, startBroker, tempDir, type RunningBroker } from './helpers/broker-fixture.js';

describe('cluster: a stale channel cache never accepts what the shared store forbids', () => {
  const opened: { broker: RunningBroker; other: BrokerApp; remove: () => void }[] = [];
  afterEach(async () => {
    for (const { broker, other, remove } of opened.splice(0)) {
      await other.close();
      await broker.stop();
      remove();
    }
  });

  /** Broker A (serving devices) and service B (no listener), over one ledger file; a channel car-1 -> charger-1 with seq 1 accepted and cached in A. */
  async function twoServices(storeShared: boolean) {
    const dir = tempDir('mqpay-stale-');
    const broker = await startBroker({}, dir.path, { storeShared });
    const other = await createBrokerApp({ dataDir: dir.path, mqttPort: null, operatorToken: OPERATOR_TOKEN, logLevel: 'silent' }, { logger: pino({ level: 'silent' }), storeShared: true });
    opened.push({ broker, other, remove: dir.remove });
    const keys = broker.enrol('car-1', '10');
    broker.enrol('charger-1');
    const car = await broker.link('car-1', keys);
    const channelId = await openChannel(car, 'charger-1', '1');
    expect(await payVoucher(car, signedVoucher(keys, { channelId, seq: 1n, total: amountOf(100n) }))).toMatchObject({ type: 'voucher.accepted' });
    return { broker, other, keys, car, channelId };
  }

  it('a close committed by the other service: the next voucher is refused CHANNEL_CLOSING, the store keeps seq 1', async () => {
    const { broker, other, keys, car, channelId } = await twoServices(true);
    await other.service.forceClose(channelId);
    expect(await payVoucher(car, signedVoucher(keys, { channelId, seq: 2n, total: amountOf(200n) }))).toMatchObject({ type: 'voucher.rejected', error: { code: 'CHANNEL_CLOSING' } });
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ latestSeq: 1n, latestTotal: 100n });
  });

  it('a re-key committed by the other service: the old key moves nothing more (KEY_ROTATED); the new key pays', async () => {
    const { broker, other, keys, car, channelId } = await twoServices(true);
    const rotated = generateKeyPair(random);
    await other.service.rekey('car-1', rotated.publicKey);
    expect(await payVoucher(car, signedVoucher(keys, { channelId, seq: 2n, total: amountOf(200n) }))).toMatchObject({ type: 'voucher.rejected', error: { code: 'KEY_ROTATED' } });
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ latestSeq: 1n, latestTotal: 100n });
    // Judged once more from the store: the new key's voucher is accepted although A cached the old key.
    expect(await payVoucher(car, signedVoucher(rotated, { channelId, seq: 2n, total: amountOf(200n) }))).toMatchObject({ type: 'voucher.accepted' });
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ latestSeq: 2n, latestTotal: 200n });
  });

  it('a re-key committed by the other service: ticks under a checkpoint of the old key pay nothing more (KEY_ROTATED)', async () => {
    const { broker, other, keys, car, channelId } = await twoServices(true);
    const verdicts = new TickVerdicts(car);
    const test = testChain(keys.secretKey, { channelId, seq: 2n, seed: new Uint8Array(32).fill(7), length: 10, total: '0.001', price: '0.0001' });
    const opened = verdicts.next(channelId, 2n, 0);
    await car.publishFrame('tick', test.frame);
    expect((await opened).code).toBeNull();
    const first = verdicts.next(channelId, 2n, 1);
    await car.publishFrame('tick', tickFrame(test, 1));
    expect((await first).code).toBeNull();
    await other.service.rekey('car-1', generateKeyPair(random).publicKey);
    const second = verdicts.next(channelId, 2n, 2);
    await car.publishFrame('tick', tickFrame(test, 2));
    expect((await second).code).toBe('KEY_ROTATED');
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ latestSeq: 2n, latestTotal: 1_100n });
  });

  it('control: without storeShared the stale cached key is accepted, which is why workers set it', async () => {
    const { broker, other, keys, car, channelId } = await twoServices(false);
    await other.service.rekey('car-1', generateKeyPair(random).publicKey);
    expect(await payVoucher(car, signedVoucher(keys, { channelId, seq: 2n, total: amountOf(200n) }))).toMatchObject({ type: 'voucher.accepted' });
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ latestSeq: 2n });
  });
});
