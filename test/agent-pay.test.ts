// Two agents pay each other through a real broker: pay resolves on "accepted", the payee's
// onPayment sees the payment after storing it, receipts come back to the payer, channels are
// reused and topped up, and the ledger agrees with both agents.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Agent } from '../agent/agent-api.js';
import type { ReceivedPayment } from '../agent/types.js';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { balanceOf } from '../broker/store/sqlite/ledger.js';
import { walletAccount } from '../broker/store/accounts.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { join } from 'node:path';
import { readKeyFile } from '../agent/home/key-file.js';
import { addDevice } from '../broker/store/sqlite/devices.js';
import { fundWallet } from '../broker/store/sqlite/ledger.js';
import { addAmount, formatAmount, parseAmount } from '../shared/amount.js';
import { MqpayError } from '../shared/errors.js';
import { channelIdFromHex } from '../shared/ids.js';
import { startBroker, type RunningBroker } from './helpers/broker-fixture.js';
import { AgentBed, NETWORK_POLL } from './helpers/agent-fixture.js';

describe('agent: paying through a real broker', () => {
  let broker: RunningBroker;
  let bed: AgentBed;
  beforeEach(async () => {
    broker = await startBroker();
    bed = new AgentBed(broker);
  });
  afterEach(async () => {
    await bed.cleanup();
    await broker.stop();
  });

  it('pays, the payee sees it, the receipt comes back, and the ledger settles right', async () => {
    const car = await bed.agent('car-1', { funds: '10', config: { channel: { deposit: '2' } } });
    const charger = await bed.agent('charger-1');
    const received: ReceivedPayment[] = [];
    charger.onPayment((payment) => {
      received.push(payment);
    });

    const first = await car.pay('charger-1', '0.25');
    expect(first).toMatchObject({ payee: 'charger-1', seq: 1n, total: 250_000n, amount: 250_000n });
    expect(first.receipt).toBeUndefined();
    const second = await car.pay('charger-1', 125_000n, { receipt: true, memo: 'kWh 2' });
    expect(second).toMatchObject({ channel: first.channel, seq: 2n, total: 375_000n, amount: 125_000n });
    expect(second.receipt).toMatchObject({ seq: 2n, total: 375_000n });

    await expect.poll(() => received.length, NETWORK_POLL).toBe(2);
    expect(received.map((p) => [p.seq, p.amount, p.total, p.source, p.certified])).toEqual([
      [1n, 250_000n, 250_000n, 'service', true],
      [2n, 125_000n, 375_000n, 'service', true],
    ]);
    expect(received[0]?.payer).toBe('car-1');

    const row = getChannel(broker.app.db, channelIdFromHex(first.channel));
    expect(row).toMatchObject({ latestSeq: 2n, latestTotal: 375_000n, deposit: 2_000_000n });
    expect(await car.balance()).toBe(8_000_000n);
    expect(car.channels().paying).toEqual([expect.objectContaining({ payee: 'charger-1', signedSeq: '2', acceptedSeq: '2', receiptSeq: '2', state: 'open' })]);
    await expect.poll(() => charger.channels().paid[0]?.receivedTotal, NETWORK_POLL).toBe('0.375');

    await broker.app.service.tick();
    expect(balanceOf(broker.app.db, walletAccount('charger-1'))).toBe(375_000n);
    // The payer's close opens the dispute window; the payee's own close then settles at once.
    const closing = await car.close(first.channel);
    expect(closing).toMatchObject({ state: 'closing' });
    expect(closing.closesAtMs).toBeGreaterThan(Date.now());
    const closed = await charger.close(first.channel);
    expect(closed).toMatchObject({ state: 'closed', settled: 375_000n, refunded: 1_625_000n });
    expect(await car.balance()).toBe(9_625_000n);
    expect(auditLedger(broker.app.db).filter((check) => !check.ok)).toEqual([]);
  });

  it('tops a channel up when a payment needs more than its deposit, and the payee accepts the larger totals', async () => {
    const car = await bed.agent('car-4', { funds: '10', config: { channel: { deposit: '0.5' } } });
    const charger = await bed.agent('charger-4');
    const first = await car.pay('charger-4', '0.4');
    const second = await car.pay('charger-4', '0.3', { receipt: true }); // 0.7 > 0.5: top-up by max(0.5, 0.2)
    expect(second).toMatchObject({ channel: first.channel, seq: 2n, total: 700_000n });
    expect(getChannel(broker.app.db, channelIdFromHex(first.channel))).toMatchObject({ deposit: 1_000_000n, revision: 2 });
    await expect.poll(() => charger.channels().paid[0], NETWORK_POLL).toMatchObject({ deposit: '1', receivedTotal: '0.7', certified: true });
    expect(await car.balance()).toBe(9_000_000n);
  });

  it('tops up in the background once the unspent deposit falls below the configured floor', async () => {
    const car = await bed.agent('car-5', { funds: '10', config: { channel: { deposit: '1', topupBelow: '0.5' } } });
    await bed.agent('charger-5');
    const payment = await car.pay('charger-5', '0.6');
    await expect.poll(() => getChannel(broker.app.db, channelIdFromHex(payment.channel))?.deposit, NETWORK_POLL).toBe(2_000_000n);
    await expect.poll(() => car.channels().paying[0]?.deposit, NETWORK_POLL).toBe('2');
  });

  it('pays many times concurrently over one channel, with every payment accepted and seqs without gaps', async () => {
    const car = await bed.agent('car-6', { funds: '10', config: { channel: { deposit: '5' } } });
    const charger = await bed.agent('charger-6');
    let paidToCharger = 0n;
    charger.onPayment((payment) => {
      paidToCharger += payment.amount;
    });
    const payments = await Promise.all(Array.from({ length: 200 }, () => car.pay('charger-6', '0.001')));
    expect(new Set(payments.map((p) => p.channel)).size).toBe(1);
    expect(payments.map((p) => p.seq).sort((a, b) => Number(a - b))).toEqual(Array.from({ length: 200 }, (_, i) => BigInt(i + 1)));
    expect(getChannel(broker.app.db, channelIdFromHex(payments[0]?.channel ?? ''))).toMatchObject({ latestSeq: 200n, latestTotal: 200_000n });
    // Forwards travel at QoS 0 and only the latest voucher of a batch is published: the payee
    // may see fewer, larger payments, but never more money than was paid.
    await expect.poll(() => paidToCharger, NETWORK_POLL).toBe(200_000n);
  });

  it('streams payment each interval in advance until stopped', async () => {
    const car = await bed.agent('car-7', { funds: '10' });
    const charger = await bed.agent('charger-7');
    const stream = car.stream('charger-7', { amountPerSecond: '1', intervalMs: 50 });
    await expect.poll(() => stream.paid, NETWORK_POLL).toBeGreaterThanOrEqual(150_000n);
    const summary = await stream.stop();
    expect(summary.error).toBeNull();
    expect(summary.payments).toBeGreaterThanOrEqual(2);
    const stoppedAt = summary.paid;
    // Sentinel on the same path: a second stream with the same interval, started after stop().
    // Its second payment comes from a timer set later, with the same delay, than any timer the
    // first stream could have left behind, so a stray tick of the first stream would have fired
    // (and asked to pay, ahead of it) by the time that second payment is made.
    const sentinel = car.stream('charger-7', { amountPerSecond: '1', intervalMs: 50 });
    await expect.poll(() => sentinel.paid, NETWORK_POLL).toBeGreaterThanOrEqual(100_000n); // two ticks
    const sentinelSummary = await sentinel.stop();
    expect(sentinelSummary.error).toBeNull();
    expect(stream.paid).toBe(stoppedAt);
    const total = formatAmount(addAmount(stoppedAt, sentinelSummary.paid));
    expect(car.channels().paying[0]).toMatchObject({ signedTotal: total, acceptedTotal: total }); // nothing else was signed
    await expect.poll(() => charger.channels().paid[0]?.receivedTotal, NETWORK_POLL).toBe(total);
  });

  it('ends a stream with the error that stopped its payments', async () => {
    const car = await bed.agent('car-8', { funds: '10', config: { policy: { overall: { hour: '0.2' } } } });
    await bed.agent('charger-8');
    const stream = car.stream('charger-8', { amountPerSecond: '1', intervalMs: 50 });
    const summary = await stream.done;
    expect((summary.error as MqpayError).code).toBe('POLICY_BUDGET_EXCEEDED');
    expect(summary.paid).toBeLessThanOrEqual(200_000n);
  });

  it('publishes an offer that another agent reads', async () => {
    const charger = await bed.agent('charger-10');
    const car = await bed.agent('car-10');
    await charger.offer({ unit: 'Wh', price: '0.00025' });
    await expect.poll(async () => (await car.readOffer('charger-10')).price, NETWORK_POLL).toBe(250n);
    expect(await car.readOffer('charger-10')).toMatchObject({ device: 'charger-10', unit: 'Wh' });
    await expect(car.readOffer('nobody-1', { timeoutMs: 200 })).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('learns the service key on first use when none is pinned, and refuses a different one later', async () => {
    const home = bed.home('car-11', { funds: '5', unpinned: true });
    bed.home('charger-11');
    const car = await bed.start(home);
    const first = await car.pay('charger-11', '0.1');
    await car.close(first.channel);
    await car.stop();
    const other = await startBroker(); // another service, with another key
    const otherBed = new AgentBed(other);
    try {
      otherBed.home('charger-11');
      addDevice(other.app.db, 'car-11', readKeyFile(join(home, 'key')).publicKey, Date.now());
      fundWallet(other.app.db, 'car-11', parseAmount('5'), 'car-11:other', Date.now());
      const moved = await otherBed.start(home);
      await expect(moved.pay('charger-11', '0.1')).rejects.toMatchObject({ code: 'KEY_INVALID' });
    } finally {
      await otherBed.cleanup();
      await other.stop();
    }
  });

  it('answers with the service\'s error code when a payment cannot be made', async () => {
    const car = await bed.agent('car-12', { funds: '0.5' });
    await expect(car.pay('nobody-2', '0.1')).rejects.toMatchObject({ code: 'DEVICE_UNKNOWN' });
    bed.home('charger-12');
    await expect(car.pay('charger-12', '0.1')).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' }); // deposit 1 > wallet 0.5
    await expect(car.pay('car-12', '0.1')).rejects.toMatchObject({ code: 'CHANNEL_SELF' });
    await expect(car.pay('charger-12', '0')).rejects.toMatchObject({ code: 'AMOUNT_ZERO' });
    await expect(car.pay('charger-12', 0.1 as never)).rejects.toMatchObject({ code: 'AMOUNT_INVALID' });
    expect(car.channels().paying.map((c) => c.state)).toEqual(['failed', 'failed']);
    expect(await car.balance()).toBe(500_000n);
  });
});

