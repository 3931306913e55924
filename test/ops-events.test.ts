// GET /api/events (server-sent events): hello with history, vouchers/s each second, settlements,
// connects and admin actions as they happen; bounded number of streams.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SSE_CLIENTS_MAX } from '../broker/limits.js';
import { OPERATOR_TOKEN, settledResult } from './helpers/broker-fixture.js';
import { openPayingChannel, startOpsBroker, type OpsBroker } from './helpers/ops-fixture.js';
import { openLiveEvents, type LiveEventReader } from './helpers/ops-sse.js';

let broker: OpsBroker;

beforeAll(async () => {
  broker = await startOpsBroker();
});
afterAll(async () => {
  await broker.stop();
});

describe('live events', () => {
  it('streams hello, connects, vouchers per second, a settlement and admin actions', async () => {
    const live = await openLiveEvents(broker.base, OPERATOR_TOKEN);
    try {
      const hello = await live.next('hello');
      expect(hello).toMatchObject({ online: [] });
      expect(Array.isArray(hello.rates)).toBe(true);

      const channel = await openPayingChannel(broker, { payer: 'car-1', payee: 'charger-1' }, { funds: '10', deposit: '5', step: '0.01' });
      expect(await live.next('device.connected', (data) => data.device === 'car-1')).toMatchObject({ type: 'device.connected' });
      await channel.pay(120);
      const rate = await live.next('rate', (data) => data.vouchersPerSecond > 0);
      expect(rate).toMatchObject({ online: 2 });
      expect(rate.vouchersAccepted).toBeGreaterThan(0);

      const result = await settledResult(broker.app.service.settleNow());
      const settlement = await live.next('settlement', (data) => data.id === result?.id);
      expect(settlement).toMatchObject({ reason: 'manual', channels: 1, amount: '1.2', fee: '0', lines: [{ account: 'wallet:charger-1', amount: '1.2' }] });

      await broker.api('POST', '/api/wallets/car-1/fund', { body: { amount: '2', idempotencyKey: 'sse-1' } });
      expect(await live.next('wallet.funded')).toMatchObject({ device: 'car-1', amount: '2', by: 'operator' });
      await broker.api('POST', `/api/channels/${channel.channelHex}/close`);
      expect(await live.next('channel.closing')).toMatchObject({ channel: channel.channelHex, by: 'operator' });
      await broker.api('POST', `/api/channels/${channel.channelHex}/close?immediate=true`);
      expect(await live.next('channel.closed')).toMatchObject({ channel: channel.channelHex, settled: '1.2', refunded: '3.8' });
      await channel.payee.close();
      expect(await live.next('device.disconnected', (data) => data.device === 'charger-1')).toMatchObject({ type: 'device.disconnected' });
    } finally {
      live.close();
    }
  });

  it(`holds at most ${SSE_CLIENTS_MAX} streams and answers 503 beyond`, async () => {
    const streams: LiveEventReader[] = [];
    try {
      for (let i = 0; i < SSE_CLIENTS_MAX; i++) streams.push(await openLiveEvents(broker.base, OPERATOR_TOKEN));
      const refused = await broker.api('GET', '/api/events');
      expect(refused.status).toBe(503);
      expect(refused.json).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true });
      streams.pop()?.close();
      // The slot is free once the broker has seen the stream close: its own count says when.
      await expect.poll(async () => /^mqpay_sse_clients (\d+)$/m.exec((await broker.api('GET', '/metrics')).text)?.[1]).toBe(String(SSE_CLIENTS_MAX - 1));
      streams.push(await openLiveEvents(broker.base, OPERATOR_TOKEN));
    } finally {
      for (const stream of streams) stream.close();
    }
  });
});
