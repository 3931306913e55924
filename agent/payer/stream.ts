// Streaming payment: while a service is delivered (a car charging), pay for each interval in
// advance, so the payee always holds payment for the time being served and stops serving
// when payments stop. The amount due is computed from elapsed time on the injected clock, in
// bigint micro-units, so rounding never accumulates: after t ms exactly rate * t / 1000 is due.
// Each tick counts at most STREAM_STEP_INTERVALS_MAX intervals of elapsed time: a wall clock
// that jumps ahead (a device without a real-time clock syncing NTP) must not bill the gap.
import { addAmount, amountOf, subAmount, ZERO, type Amount } from '../../shared/amount.js';
import { MqpayError } from '../../shared/errors.js';
import { toAmount } from '../amount-input.js';
import type { Clock } from '../ports.js';
import type { Payment, PaymentStream, StreamOptions, StreamSummary } from '../types.js';
import { STREAM_INTERVAL_MS_DEFAULT, STREAM_INTERVAL_MS_MIN, STREAM_STEP_INTERVALS_MAX } from '../limits.js';

type PayFunction = (amount: Amount, memo: string | undefined) => Promise<Payment>;

class StreamRunner implements PaymentStream {
  readonly done: Promise<StreamSummary>;
  private paidSoFar: Amount = ZERO;
  private payments = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> = Promise.resolve();
  private finish: (summary: StreamSummary) => void = () => undefined;
  private lastTickMs: number;
  /** Service time counted so far (ms), each tick's step bounded. */
  private elapsedMs = 0n;

  constructor(private readonly pay: PayFunction, private readonly clock: Clock, private readonly rate: Amount, private readonly intervalMs: number, private readonly memo: string | undefined) {
    this.lastTickMs = clock.nowMs();
    this.done = new Promise<StreamSummary>((resolve) => {
      this.finish = resolve;
    });
    this.loop();
  }

  get paid(): Amount {
    return this.paidSoFar;
  }

  private async tick(): Promise<void> {
    const nowMs = this.clock.nowMs();
    // A clock that steps back counts nothing (it never asks for money back); one that jumps
    // ahead counts at most a few intervals.
    const stepMs = Math.min(Math.max(0, nowMs - this.lastTickMs), this.intervalMs * STREAM_STEP_INTERVALS_MAX);
    this.lastTickMs = nowMs;
    this.elapsedMs += BigInt(stepMs);
    const owed = amountOf((this.rate * (this.elapsedMs + BigInt(this.intervalMs))) / 1000n);
    if (owed <= this.paidSoFar) return;
    const due = subAmount(owed, this.paidSoFar);
    // Ticks pay in whole ticks: what was paid may be a little more than due (it counts next time).
    const payment = await this.pay(due, this.memo);
    this.paidSoFar = addAmount(this.paidSoFar, payment.amount);
    this.payments += 1;
  }

  private loop(): void {
    if (this.stopped) return;
    this.inFlight = this.tick().then(
      () => {
        if (!this.stopped) this.timer = setTimeout(() => this.loop(), this.intervalMs);
      },
      (error: unknown) => this.end(error instanceof Error ? error : new Error(String(error))),
    );
  }

  private end(error: Error | null): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.stopped = true;
    this.finish({ paid: this.paidSoFar, payments: this.payments, error });
  }

  async stop(): Promise<StreamSummary> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.inFlight;
    this.end(null);
    return this.done;
  }
}

export function startStream(pay: PayFunction, clock: Clock, options: StreamOptions): PaymentStream {
  const rate = toAmount(options.amountPerSecond);
  const intervalMs = options.intervalMs ?? STREAM_INTERVAL_MS_DEFAULT;
  if (rate === 0n) throw new MqpayError('AMOUNT_ZERO', 'amountPerSecond');
  if (!Number.isInteger(intervalMs) || intervalMs < STREAM_INTERVAL_MS_MIN) throw new MqpayError('MESSAGE_INVALID', `intervalMs must be an integer >= ${STREAM_INTERVAL_MS_MIN}`);
  return new StreamRunner(pay, clock, rate, intervalMs, options.memo);
}

/** The price of one tick of a stream paid by hash-chain ticks: one interval's amount, at least one micro-unit. */
export function tickPriceOf(amountPerSecond: Amount, intervalMs: number): Amount {
  const perInterval = (amountPerSecond * BigInt(intervalMs)) / 1000n;
  return amountOf(perInterval > 0n ? perInterval : 1n);
}
