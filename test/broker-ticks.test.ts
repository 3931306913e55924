// Hash-chain ticks end to end through a real broker (aedes on loopback, MQTT.js clients, a SQLite
// file): a checkpoint then a stream of ticks, each checked with one hash by the service and by
// the payee, settles to exactly checkpoint + ticks x price, and the ledger check re-verifies it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { balanceOf } from '../broker/store/sqlite/ledger.js';
import { walletAccount } from '../broker/store/accounts.js';
import { parseAmount } from '../shared/amount.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import { random, signedVoucher, payVoucher, startBroker, settledResult, type RunningBroker } from './helpers/broker-fixture.js';
import { seededInt, seededRandom } from './helpers/seed.js';
import { TestPayee, TickVerdicts, testChain, tickFrame } from './helpers/tick-payer.js';

const seededBytes = (length: number, seed: number): Uint8Array => {
  const next = seededRandom(seed);
  return Uint8Array.from({ length }, () => seededInt(next, 0, 256));
};

describe('broker: hash-chain ticks', () => {
  let broker: RunningBroker;
  beforeEach(async () => {
    broker = await startBroker();
  });
  afterEach(async () => {
    await broker.stop();
  });

  async function openChannel(deposit: string) {
    const carKeys = broker.enrol('car-1', '10');
    const chargerKeys = broker.enrol('charger-1');
    const car = await broker.link('car-1', carKeys);
    const charger = await broker.link('charger-1', chargerKeys);
    const channelId = newChannelId(random);
    await car.request('channel.open', { channel: toHex(channelId), payee: 'charger-1', deposit, durationSeconds: 3600 });
    return { carKeys, car, charger, channelId, verdicts: new TickVerdicts(car), payee: new TestPayee(charger, parseAmount(deposit)) };
  }

  it('a checkpoint and 300 pipelined ticks settle to exactly checkpoint + ticks x price; refusals change nothing', async () => {
    const { carKeys, car, channelId, verdicts, payee } = await openChannel('2.5');
    const test = testChain(carKeys.secretKey, { channelId, seq: 1n, seed: seededBytes(32, 7), length: 1000, total: '0.5', price: '0.005' });
    const opened = verdicts.next(channelId, 1n, 0);
    await car.publishFrame('tick', test.frame);
    expect(await opened).toMatchObject({ code: null, total: parseAmount('0.5') });

    // Ticks committed together are answered once, by the verdict for the highest of them (it
    // answers every lower one); the last tick sent is always answered.
    const last = verdicts.next(channelId, 1n, 300);
    for (let index = 1; index <= 300; index++) void car.publishFrame('tick', tickFrame(test, index));
    expect(await last).toMatchObject({ code: null, total: parseAmount('2') });
    expect(verdicts.refused).toEqual([]);

    const refusal = async (frame: Uint8Array, index: number) => {
      const verdict = verdicts.next(channelId, 1n, index);
      await car.publishFrame('tick', frame);
      return (await verdict).code;
    };
    expect(await refusal(tickFrame(test, 299), 299)).toBe('TICK_INDEX_INVALID');
    expect(await refusal(tickFrame(test, 301, test.chain.link(302)), 301)).toBe('TICK_PREIMAGE_INVALID');
    expect(await refusal(tickFrame(test, 401), 401)).toBe('TICK_ABOVE_DEPOSIT');
    expect(await refusal(tickFrame(test, 400), 400)).toBe(null); // skips 99: 99 + 1 hashes, 2.5 exactly
    await expect.poll(() => payee.total).toBe(parseAmount('2.5'));

    const result = await settledResult(broker.app.service.tick());
    expect(result.amount).toBe(parseAmount('2.5'));
    expect(balanceOf(broker.app.db, walletAccount('charger-1'))).toBe(parseAmount('2.5'));
    const checks = auditLedger(broker.app.db, { verifySignatures: true });
    expect(checks.filter((check) => !check.ok)).toEqual([]);
    expect(checks.find((check) => check.name.startsWith('signatures: the checkpoint and preimage'))?.detail).toBe('1 settled chains verified');
  });

  it('outbox frames go to the service only: aedes routes none of them (no client may subscribe to an outbox), and still answers each', async () => {
    const { carKeys, car, channelId, verdicts } = await openChannel('1');
    const routed: string[] = [];
    const onPublish = (packet: { topic: string }, client: unknown) => { if (client !== null) routed.push(packet.topic); };
    broker.app.mqtt.aedes.on('publish', onPublish);
    try {
      const test = testChain(carKeys.secretKey, { channelId, seq: 1n, seed: seededBytes(32, 9), length: 20, total: '0', price: '0.01' });
      await car.publishFrame('tick', test.frame);
      expect(await verdicts.next(channelId, 1n, 0)).toMatchObject({ code: null });
      const fifth = verdicts.next(channelId, 1n, 5);
      for (let index = 1; index <= 5; index++) void car.publishFrame('tick', tickFrame(test, index));
      expect(await fifth).toMatchObject({ code: null, total: parseAmount('0.05') });
      await car.request('channel.list', {});
      expect(routed).toEqual([]);
    } finally {
      broker.app.mqtt.aedes.off('publish', onPublish);
    }
  });

  it('a voucher after ticks must pay more than checkpoint + ticks, and supersedes the chain', async () => {
    const { carKeys, car, channelId, verdicts } = await openChannel('2');
    const test = testChain(carKeys.secretKey, { channelId, seq: 1n, seed: seededBytes(32, 8), length: 10, total: '0.1', price: '0.1' });
    await car.publishFrame('tick', test.frame);
    await verdicts.next(channelId, 1n, 0);
    const third = verdicts.next(channelId, 1n, 3);
    await car.publishFrame('tick', tickFrame(test, 3));
    expect((await third).total).toBe(parseAmount('0.4'));
    expect((await payVoucher(car, signedVoucher(carKeys, { channelId, seq: 2n, total: parseAmount('0.4') }))).error).toMatchObject({ code: 'VOUCHER_TOTAL_NOT_INCREASING' });
    expect((await payVoucher(car, signedVoucher(carKeys, { channelId, seq: 2n, total: parseAmount('0.45') }))).type).toBe('voucher.accepted');
    const stale = verdicts.next(channelId, 1n, 4);
    await car.publishFrame('tick', tickFrame(test, 4));
    expect((await stale).code).toBe('TICK_CHECKPOINT_UNKNOWN');
    expect(auditLedger(broker.app.db, { verifySignatures: true }).filter((check) => !check.ok)).toEqual([]);
  });
});
