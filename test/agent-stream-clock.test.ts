// A streaming payment bills service time, not wall-clock jumps: when the device's clock jumps a
// day ahead mid-stream, the next payment covers at most a couple of intervals.
import { describe, expect, it } from 'vitest';
import { startStream } from '../agent/payer/stream.js';
import type { Payment } from '../agent/types.js';
import { parseAmount, type Amount } from '../shared/amount.js';
import { STREAM_STEP_INTERVALS_MAX } from '../agent/limits.js';

describe('payment stream and the clock', () => {
  it('pays at most STREAM_STEP_INTERVALS_MAX intervals after a one-day clock jump', async () => {
    let nowMs = 1_700_000_000_000;
    const payments: Amount[] = [];
    const pay = (amount: Amount): Promise<Payment> => {
      payments.push(amount);
      return Promise.resolve({} as Payment);
    };
    const intervalMs = 20;
    const stream = startStream(pay, { nowMs: () => nowMs }, { amountPerSecond: '1', intervalMs });
    await new Promise((resolve) => setTimeout(resolve, 5)); // first tick: one interval in advance
    nowMs += 24 * 3600 * 1000; // the clock jumps a day ahead
    await new Promise((resolve) => setTimeout(resolve, intervalMs * 3));
    nowMs -= 3600 * 1000; // and an hour back
    await new Promise((resolve) => setTimeout(resolve, intervalMs * 3));
    const summary = await stream.stop();
    expect(payments[0]).toBe(parseAmount('0.02')); // 1 per second, 20 ms in advance
    const perInterval = parseAmount('0.02');
    for (const amount of payments.slice(1)) expect(amount).toBeLessThanOrEqual(perInterval * BigInt(STREAM_STEP_INTERVALS_MAX));
    expect(summary.paid).toBeLessThan(parseAmount('0.2'));
  });
});
