// Two devices open a channel, pay many vouchers, an epoch settles; balances and the ledger audit
// are right. Real aedes on loopback, real MQTT.js clients, real SQLite file.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { balanceOf } from '../broker/store/sqlite/ledger.js';
import { walletAccount } from '../broker/store/accounts.js';
import { listSettlements, settlementLines } from '../broker/store/sqlite/settle.js';
import { parseAmount } from '../shared/amount.js';
import { channelIdFromHex, newChannelId } from '../shared/ids.js';
import { toHex } from '../shared/hex.js';
import { sign } from '../shared/crypto.js';
import { encodeReceipt } from '../shared/receipt.js';
import { signConnectPassword } from '../shared/connect-token.js';
import { inboxFilter, inboxTopic } from '../shared/topics.js';
import mqtt from 'mqtt';
import { nextServicePublish } from './helpers/broker-adversary.js';
import { nextInbox, payVoucher, random, signedVoucher, startBroker, type RunningBroker, settledResult } from './helpers/broker-fixture.js';
import { inboxAsJson, receiptFrameAsJson } from './helpers/inbox-frame-json.js';

describe('broker: channel, vouchers, settlement', () => {
  let broker: RunningBroker;
  beforeEach(async () => {
    broker = await startBroker();
  });
  afterEach(async () => {
    await broker.stop();
  });

  it('opens a channel, accepts 200 vouchers, settles one epoch, and the ledger audits clean', async () => {
    const carKeys = broker.enrol('car-1', '10');
    const chargerKeys = broker.enrol('charger-1');
    const car = await broker.link('car-1', carKeys);
    const charger = await broker.link('charger-1', chargerKeys);
    const certificateNotice = nextInbox(charger, 'notice', (m) => m.type === 'channel.certificate');

    const channelId = newChannelId(random);
    const opened = await car.request('channel.open', { channel: toHex(channelId), payee: 'charger-1', deposit: '2.5', durationSeconds: 3600 });
    expect(opened.channel).toMatchObject({ payer: 'car-1', payee: 'charger-1', deposit: '2.5', state: 'open' });
    expect((await certificateNotice).certificate).toBe(opened.certificate);
    expect(balanceOf(broker.app.db, walletAccount('car-1'))).toBe(7_500_000n);

    const forwarded: Record<string, unknown>[] = [];
    charger.on('inbox', (box: string, payload: Uint8Array) => {
      const message = inboxAsJson('voucher', box, payload); // since v3 the forwards are frames on in/voucher-bin
      if (message?.type === 'voucher') forwarded.push(message);
    });
    // 200 vouchers of 0.000125 each, published without waiting (pipelined, group-committed).
    const replies = [];
    for (let seq = 1n; seq <= 200n; seq++) {
      replies.push(payVoucher(car, signedVoucher(carKeys, { channelId, seq, total: parseAmount('0.000125') * seq as never })));
    }
    const verdicts = await Promise.all(replies);
    expect(verdicts.every((v) => v.type === 'voucher.accepted')).toBe(true);
    await expect.poll(() => forwarded.length).toBe(200);

    const settlementNotice = nextInbox(charger, 'notice', (m) => m.type === 'settlement');
    const result = await settledResult(broker.app.service.tick());
    expect(result?.amount).toBe(25_000n);
    expect((await settlementNotice).amount).toBe('0.025');
    expect(balanceOf(broker.app.db, walletAccount('charger-1'))).toBe(25_000n);
    const [settlement] = listSettlements(broker.app.db, 10);
    expect(settlement?.channels).toBe(1);
    expect(settlementLines(broker.app.db, settlement?.id ?? '')).toEqual([{ account: 'wallet:charger-1', amount: 25_000n }]);
    expect(await broker.app.service.tick()).toEqual({ kind: 'nothing' }); // nothing changed: no second settlement

    // Ten more vouchers after the epoch: closing settles them (and reports that settlement).
    for (let seq = 201n; seq <= 210n; seq++) {
      expect((await payVoucher(car, signedVoucher(carKeys, { channelId, seq, total: (parseAmount('0.000125') * seq) as never }))).type).toBe('voucher.accepted');
    }
    const reported: string[] = [];
    broker.app.service.telemetry.on((event) => {
      if (event.kind === 'settlement') reported.push(event.result.id);
    });
    // The payee's own close settles at once (a payer's would open the dispute window).
    const closed = await charger.request('channel.close', { channel: toHex(channelId) });
    expect(closed).toMatchObject({ settled: '0.02625', refunded: '2.47375' });
    expect(reported).toEqual([`close-${toHex(channelId)}`]);
    expect(broker.app.service.telemetry.settlements).toBe(2);
    expect(balanceOf(broker.app.db, walletAccount('car-1'))).toBe(9_973_750n);
    expect(balanceOf(broker.app.db, walletAccount('charger-1'))).toBe(26_250n);
    expect(channelIdFromHex(String((opened.channel as { channel: string }).channel))).toEqual(channelId);
    expect(auditLedger(broker.app.db).filter((check) => !check.ok)).toEqual([]);
  });

  it('a close pipelined behind vouchers settles every one of them (they commit before the close begins)', async () => {
    const payerKeys = broker.enrol('fridge-2', '5');
    broker.enrol('dispenser-2');
    const fridge = await broker.link('fridge-2', payerKeys);
    const channelId = newChannelId(random);
    await fridge.request('channel.open', { channel: toHex(channelId), payee: 'dispenser-2', deposit: '1', durationSeconds: 600 });
    const verdicts = [];
    for (let seq = 1n; seq <= 50n; seq++) verdicts.push(payVoucher(fridge, signedVoucher(payerKeys, { channelId, seq, total: (seq * 1000n) as never })));
    const closing = fridge.request('channel.close', { channel: toHex(channelId) }); // same turn, no waiting
    const window = await closing;
    expect((await Promise.all(verdicts)).every((v) => v.type === 'voucher.accepted')).toBe(true);
    // The payer's close opens the dispute window holding all 50 vouchers; an operator's explicit
    // immediate close then settles them.
    expect(window).toMatchObject({ channel: { state: 'closing', total: '0.05' } });
    const closed = await broker.app.service.forceClose(channelId, { immediate: true });
    expect(closed).toMatchObject({ settled: 50_000n, refunded: 950_000n });
    expect(balanceOf(broker.app.db, walletAccount('dispenser-2'))).toBe(50_000n);
    expect(auditLedger(broker.app.db).filter((check) => !check.ok)).toEqual([]);
  });

  it('redelivers the latest receipt to a payer that was offline when it was sent', async () => {
    const payerKeys = broker.enrol('bus-4', '5');
    const payeeKeys = broker.enrol('gate-4');
    const bus = await broker.link('bus-4', payerKeys);
    const gate = await broker.link('gate-4', payeeKeys);
    const channelId = newChannelId(random);
    await bus.request('channel.open', { channel: toHex(channelId), payee: 'gate-4', deposit: '1', durationSeconds: 600 });
    expect((await payVoucher(bus, signedVoucher(payerKeys, { channelId, seq: 1n, total: 2_500n as never }))).type).toBe('voucher.accepted');
    await bus.close();
    await expect.poll(() => broker.app.mqtt.online.has('bus-4')).toBe(false); // the broker saw it go

    const receipt = encodeReceipt({ channelId, seq: 1n, total: 2_500n as never });
    // The service stores the receipt, then forwards it to the payer's inbox: to nobody, the bus is away.
    const forwarded = nextServicePublish(broker, inboxTopic('bus-4', 'receipt-bin')); // a frame since v3
    await gate.publish('receipt', { v: 3, receipt: toHex(receipt), signature: toHex(sign(receipt, payeeKeys.secretKey)) });
    expect(receiptFrameAsJson(await forwarded)).toMatchObject({ type: 'receipt', receipt: toHex(receipt) });

    // A plain client, listening before it subscribes, so nothing that arrives with the SUBACK is missed.
    const password = signConnectPassword({ device: 'bus-4', broker: 'mqpay', timeMs: Date.now(), nonce: random(16), secretKey: payerKeys.secretKey, sign });
    const back = await mqtt.connectAsync(broker.url, { clientId: 'bus-4', username: 'bus-4', password: Buffer.from(password) as unknown as string, protocolVersion: 4, reconnectPeriod: 0 });
    const redelivered = new Promise<Record<string, unknown>>((resolve) => back.on('message', (topic, payload) => {
      if (topic === inboxTopic('bus-4', 'receipt-bin')) resolve(receiptFrameAsJson(payload));
    }));
    await back.subscribeAsync(inboxFilter('bus-4'), { qos: 1 });
    expect(await redelivered).toMatchObject({ type: 'receipt', payee: 'gate-4', receipt: toHex(receipt) });
    await back.endAsync();
  });
});

