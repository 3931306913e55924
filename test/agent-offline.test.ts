// While the broker is down, a payee keeps serving: it checks vouchers handed over directly
// against the channel certificate, stores them and signs receipts. When the broker is back
// (same data, same port) the payer's pending vouchers are re-sent and accepted, the payee's
// queued receipts reach the payer, and the ledger settles what was served.
import { describe, expect, it } from 'vitest';
import { createAgent } from '../agent/agent.js';
import type { Agent } from '../agent/agent-api.js';
import type { ReceivedPayment, SignedPayment } from '../agent/types.js';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { balanceOf } from '../broker/store/sqlite/ledger.js';
import { walletAccount } from '../broker/store/accounts.js';
import { channelIdFromHex } from '../shared/ids.js';
import { TEST_AGENT_TIMING, NETWORK_POLL, restartableBedPerTest } from './helpers/agent-fixture.js';

describe('agent: serving while the broker is down', () => {
  const env = restartableBedPerTest();

  it('takes direct vouchers offline and delivers receipts and vouchers after the broker restarts', async () => {
    let broker = await env.start();
    const bed = env.bed();
    const car = await bed.agent('car-3', { funds: '5', config: { channel: { deposit: '1' } } });
    const charger = await bed.agent('charger-3');
    const received: ReceivedPayment[] = [];
    charger.onPayment((payment) => {
      received.push(payment);
    });
    const opened = await car.pay('charger-3', '0.1', { receipt: true });
    await expect.poll(() => received.length, NETWORK_POLL).toBe(1);
    // Let the first payment's bookkeeping settle (acceptance noted, receipt PUBACKed) so the
    // counts below are only about what happens during the outage.
    await expect.poll(() => [car.channels().pendingVouchers, charger.channels().pendingReceipts], NETWORK_POLL).toEqual([0, 0]);

    await broker.stop();
    await expect.poll(() => car.connected || charger.connected, NETWORK_POLL).toBe(false);
    const offline: SignedPayment[] = [];
    for (let i = 0; i < 3; i++) {
      const payment = await car.sign('charger-3', '0.1');
      offline.push(payment);
      const taken = await charger.receiveVoucher(payment.message);
      expect(taken).toMatchObject({ seq: payment.seq, total: payment.total, source: 'direct', certified: true });
    }
    expect(received.map((p) => [p.seq, p.source])).toEqual([[1n, 'service'], [2n, 'direct'], [3n, 'direct'], [4n, 'direct']]);
    expect(car.channels().pendingVouchers).toBe(3);
    expect(charger.channels().pendingReceipts).toBe(3);

    broker = await env.start();
    const last = offline[2] as SignedPayment;
    await expect(last.accepted).resolves.toMatchObject({ seq: 4n, total: 400_000n });
    await expect(offline[0]?.accepted).resolves.toMatchObject({ seq: 2n });
    const receipt = await last.waitForReceipt();
    expect(receipt).toMatchObject({ seq: 4n, total: 400_000n });
    await expect.poll(() => car.channels().pendingVouchers, NETWORK_POLL).toBe(0);
    await expect.poll(() => charger.channels().pendingReceipts, NETWORK_POLL).toBe(0);
    expect(car.channels().paying[0]).toMatchObject({ acceptedSeq: '4', receiptSeq: '4' });
    expect(received).toHaveLength(4); // the service's forward of seq 4 was a duplicate, not a new payment

    const row = getChannel(broker.app.db, channelIdFromHex(opened.channel));
    expect(row).toMatchObject({ latestSeq: 4n, latestTotal: 400_000n });
    await broker.app.service.tick();
    expect(balanceOf(broker.app.db, walletAccount('charger-3'))).toBe(400_000n);
    expect(auditLedger(broker.app.db).filter((check) => !check.ok)).toEqual([]);
  });

  it('starts offline, and pays once the broker comes up', async () => {
    const broker = await env.start();
    const bed = env.bed();
    const home = bed.home('van-1', { funds: '3' });
    bed.home('kiosk-1');
    await broker.stop();
    const van: Agent = await createAgent({ home, brokerUrl: broker.url, ...TEST_AGENT_TIMING, connectWaitMs: 100 });
    try {
      expect(van.connected).toBe(false);
      const paying = van.pay('kiosk-1', '0.5', { timeoutMs: 8_000 });
      await env.start();
      await expect(paying).resolves.toMatchObject({ seq: 1n, total: 500_000n });
    } finally {
      await van.stop();
    }
  });
});
