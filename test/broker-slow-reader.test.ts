// A client that stops reading is dropped once the broker holds more than the outbound bound
// unsent for it, and nobody else waits on it meanwhile [docs/DESIGN.md rule 15]. (The latency
// ratio with 1 and 10 frozen payees is measured in test/long/frozen-devices.test.ts.)
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceLink } from '../agent/link/link.js';
import { amountOf } from '../shared/amount.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import { random, signedVoucher, startBroker, type RunningBroker } from './helpers/broker-fixture.js';

let broker: RunningBroker | null = null;
afterEach(async () => {
  await broker?.stop();
  broker = null;
});

describe('a frozen reader', () => {
  it('a payee that stays frozen is dropped once it holds more than the outbound bound, and the others go on', async () => {
    broker = await startBroker({ outboundBytesPerClientMax: 65_536, messagesPerSecondPerDevice: 1_000_000, messagesBurstPerDevice: 1_000_000 });
    const payee = await broker.link('meter-1', broker.enrol('meter-1'));
    const keys = broker.enrol('car-1', '1000');
    const link = await broker.link('car-1', keys);
    const channelId = newChannelId(random);
    await link.request('channel.open', { channel: toHex(channelId), payee: 'meter-1', deposit: '900', durationSeconds: 3600 });
    (payee.client as unknown as { stream: Duplex }).stream.pause();
    let running = true;
    let seq = 0n;
    const pump = (async () => {
      while (running) {
        const batch: Promise<void>[] = [];
        for (let index = 0; index < 20; index++) {
          seq += 1n;
          batch.push(link.publish('voucher', signedVoucher(keys, { channelId, seq, total: amountOf(seq) })));
        }
        await Promise.all(batch);
      }
    })();
    const stop = async () => {
      running = false;
      await pump;
    };
    try {
      await expect.poll(() => broker?.app.service.telemetry.slowClientsDropped, { timeout: 40_000 }).toBe(1);
    } finally {
      await stop();
    }
    // aedes reports the disconnect (and presence forgets the device) just after the drop.
    await expect.poll(() => broker?.app.mqtt.online.has('meter-1')).toBe(false);
    expect(await link.request('wallet.balance', {})).toMatchObject({ device: 'car-1' }); // the payer is served still
  }, 60_000);
});
