// Ticks under a broker SIGKILL (persist before acknowledge): the broker runs as a child process
// with 1-second epochs and is killed mid-stream of ticks. After the crash, every tick answered
// "accepted" is in SQLite (the chain's highest index is at least the highest accepted one, and the
// channel's total is checkpoint + highest x price); after a restart the payer resumes from the
// stored index and the channel settles to exactly checkpoint + ticks x price, audited with the
// evidence re-verified.
import { beforeAll, describe, expect, it } from 'vitest';
import { DeviceLink } from '../agent/link/link.js';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { chainOf } from '../broker/store/sqlite/chains.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { fundWallet } from '../broker/store/sqlite/ledger.js';
import { openDatabase } from '../broker/store/sqlite/open-database.js';
import { parseAmount } from '../shared/amount.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import { TICK_SKIP_MAX } from '../shared/limits.js';
import { tickFrameKindOf } from '../shared/tick-frames.js';
import { decodeTickVerdict } from '../shared/tick-verdict.js';
import { childBrokerBed } from './helpers/child-broker.js';
import { random } from './helpers/broker-fixture.js';
import { testChain, tickFrame } from './helpers/tick-payer.js';

describe('broker crash (SIGKILL) mid-stream of ticks', () => {
  const bed = childBrokerBed('mqpay-ticks-crash-', ['vehicle-1', 'charger-1']);
  const payerKeys = bed.keysOf('vehicle-1');
  beforeAll(() => {
    const db = openDatabase(bed.dataDir);
    fundWallet(db, 'vehicle-1', parseAmount('100'), 'vehicle-1', Date.now());
    db.close();
  });
  const start = () => bed.start(['--epoch-seconds', '1']);

  it('loses no accepted tick and settles exactly checkpoint + ticks x price', async () => {
    await start();
    const link = await DeviceLink.connect({ url: bed.url(), device: 'vehicle-1', secretKey: payerKeys.secretKey, brokerId: 'mqpay', clock: { nowMs: () => Date.now() }, random, reconnectPeriodMs: 200, requestTimeoutMs: 10_000 });
    const channelId = newChannelId(random);
    await link.request('channel.open', { channel: toHex(channelId), payee: 'charger-1', deposit: '50', durationSeconds: 3600 });
    const test = testChain(payerKeys.secretKey, { channelId, seq: 1n, seed: random(32), length: 5_000, total: '1', price: '0.001' });

    let highestAccepted = -1;
    const answered = new Set<number>();
    link.on('inbox', (box: string, payload: Uint8Array) => {
      if (box !== 'tick' || tickFrameKindOf(payload) !== 'verdict') return;
      const verdict = decodeTickVerdict(payload);
      answered.add(verdict.index);
      if (verdict.code === null) highestAccepted = Math.max(highestAccepted, verdict.index);
    });
    await link.publishFrame('tick', test.frame);
    await expect.poll(() => highestAccepted).toBe(0);

    let index = 0;
    const sendBatch = (count: number) => {
      for (let i = 0; i < count; i++) {
        index += 1;
        link.publishFrame('tick', tickFrame(test, index)).catch(() => undefined);
      }
    };
    while (highestAccepted < 300) {
      sendBatch(50);
      await expect.poll(() => answered.has(index), { timeout: 10_000, interval: 5 }).toBe(true);
    }
    sendBatch(200); // in flight when the power goes
    await bed.kill('SIGKILL');
    const acceptedBeforeCrash = highestAccepted;

    const db = openDatabase(bed.dataDir);
    const stored = chainOf(db, channelId);
    expect(stored?.highestIndex).toBeGreaterThanOrEqual(acceptedBeforeCrash);
    expect(getChannel(db, channelId)?.latestTotal).toBe(parseAmount('1') + BigInt(stored?.highestIndex ?? 0) * parseAmount('0.001'));
    expect(auditLedger(db, { verifySignatures: true }).filter((check) => !check.ok)).toEqual([]);
    db.close();

    // Restart. MQTT.js re-sends the ticks that were in flight as soon as it reconnects, possibly
    // before its inbox subscription is back (their verdicts may be lost); the payer goes on after
    // the highest index it sent, and the first new tick proves every one it skipped (one hash each).
    await start();
    await new Promise<void>((resolve) => (link.connected ? resolve() : link.once('connect', () => resolve())));
    expect(index - (stored?.highestIndex ?? 0)).toBeLessThanOrEqual(TICK_SKIP_MAX);
    const target = index + 100;
    sendBatch(100);
    await expect.poll(() => highestAccepted, { timeout: 10_000 }).toBe(target);
    const expected = parseAmount('1') + BigInt(target) * parseAmount('0.001');
    const watcher = openDatabase(bed.dataDir);
    try {
      await expect.poll(() => getChannel(watcher, channelId)?.settledTotal, { timeout: 10_000, interval: 50 }).toBe(expected);
    } finally {
      watcher.close();
    }
    await link.close();
    await bed.kill('SIGTERM');
    const after = openDatabase(bed.dataDir);
    const failed = auditLedger(after, { verifySignatures: true }).filter((check) => !check.ok);
    after.close();
    expect(failed).toEqual([]);
  });
});
