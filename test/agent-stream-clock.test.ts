// A streaming payment bills service time, not wall-clock jumps: when the device's clock jumps a
// day ahead mid-stream, the next payment covers at most a couple of intervals.
//
// No network here: the stream pays through a function, reads the test's clock, and schedules its
// ticks with setTimeout, which is faked (only setTimeout/clearTimeout, only in this file) so each
// tick runs exactly when the test advances it; nothing waits on real time.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startStream } from '../agent/payer/stream.js';
import { STREAM_STEP_INTERVALS_MAX } from '../agent/limits.js';
import type { Payment } from '../agent/types.js';
import { parseAmount, type Amount } from '../shared/amount.js';

describe('payment stream and the clock', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('pays at most STREAM_STEP_INTERVALS_MAX intervals after a one-day clock jump', async () => {
    let nowMs = 1_700_000_000_000;
    const payments: Amount[] = [];
    const pay = (amount: Amount): Promise<Payment> => {
      payments.push(amount);
      // The stream counts what each payment says it paid (ticks may round up to a whole tick).
      return Promise.resolve({ amount } as Payment);
    };
    const intervalMs = 20;
    const perInterval = parseAmount('0.02'); // 1 per second, 20 ms
    const stream = startStream(pay, { nowMs: () => nowMs }, { amountPerSecond: '1', intervalMs });
    /** Runs the next tick: the stream's timer fires, and its payment (if any) completes. */
    const nextTick = async () => {
      expect(vi.getTimerCount()).toBe(1); // the previous tick finished and scheduled this one
      await vi.advanceTimersByTimeAsync(intervalMs);
    };

    await vi.advanceTimersByTimeAsync(0); // the first tick, at start: one interval in advance
    expect(payments).toEqual([perInterval]);

    nowMs += 24 * 3600 * 1000; // the clock jumps a day ahead
    await nextTick();
    nowMs += intervalMs;
    await nextTick();
    nowMs -= 3600 * 1000; // and an hour back
    await nextTick();
    nowMs += intervalMs;
    await nextTick();
    const summary = await stream.stop();

    expect(payments[0]).toBe(perInterval);
    for (const amount of payments.slice(1)) expect(amount).toBeLessThanOrEqual(perInterval * BigInt(STREAM_STEP_INTERVALS_MAX));
    expect(summary.paid).toBeLessThan(parseAmount('0.2'));
    // Exactly: the jump counts STREAM_STEP_INTERVALS_MAX intervals, a normal tick one, the step
    // back nothing (no payment), the next normal tick one again.
    expect(payments).toEqual([perInterval, perInterval * BigInt(STREAM_STEP_INTERVALS_MAX), perInterval, perInterval]);
    expect(summary).toMatchObject({ paid: perInterval * BigInt(3 + STREAM_STEP_INTERVALS_MAX), payments: 4, error: null });
    expect(vi.getTimerCount()).toBe(0); // stopped: no tick left
  });
});
