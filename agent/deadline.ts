// One overall deadline for an operation made of several waits (connect, open a channel, the
// service's acceptance, the payee's receipt): each wait gets what is left, so a 15 s timeout is
// 15 s in all, not 15 s per wait.
import { MqpayError } from '../shared/errors.js';
import type { Clock } from './ports.js';

export class Deadline {
  private readonly atMs: number;

  constructor(private readonly clock: Clock, readonly timeoutMs: number) {
    if (!(Number.isInteger(timeoutMs) && timeoutMs > 0)) throw new RangeError(`timeout must be a positive integer of ms, got ${timeoutMs}`);
    this.atMs = clock.nowMs() + timeoutMs;
  }

  /** Milliseconds left, never below zero. */
  remainingMs(): number {
    return Math.max(0, this.atMs - this.clock.nowMs());
  }

  /**
   * Bounds a wait by what is left, rejecting with TIMEOUT naming the phase. The work behind the
   * wait is not cancelled (a stored voucher stays pending); only the caller stops waiting.
   */
  bound<T>(promise: Promise<T>, phase: Phase): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(this.expired(phase)), this.remainingMs());
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /** The error of a phase the deadline ran out in: what was awaited, and what became of the payment. */
  expired(phase: Phase, code: 'TIMEOUT' | 'SERVICE_UNAVAILABLE' = 'TIMEOUT'): DeadlineExpired {
    return new DeadlineExpired(code, phase, `no ${phase.awaited} within ${this.timeoutMs} ms (phase: ${phase.name}); ${phase.consequence}`);
  }
}

/** A deadline that ran out, with the phase it ran out in (callers may act on the phase). */
export class DeadlineExpired extends MqpayError {
  constructor(code: 'TIMEOUT' | 'SERVICE_UNAVAILABLE', readonly phase: Phase, detail: string) {
    super(code, detail);
  }
}

/** One wait of an operation under a deadline, as its error reports it. */
export interface Phase {
  /** A short stable word: connect, channel, acceptance, receipt. */
  readonly name: string;
  /** What the wait was for, e.g. "acceptance from the service". */
  readonly awaited: string;
  /** What became of the operation, e.g. "nothing was signed". */
  readonly consequence: string;
}
