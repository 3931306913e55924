// Time, injected: the run's schedule, fault timing and progress read this clock and sleep on
// it, so a test can drive them with its own.

export interface SimClock {
  nowMs(): number;
  /** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemSimClock: SimClock = {
  nowMs: () => Date.now(),
  sleep(ms, signal) {
    if (signal?.aborted === true || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    });
  },
};

/** Sleeps until the clock reads `atMs`. */
export function sleepUntil(clock: SimClock, atMs: number, signal?: AbortSignal): Promise<void> {
  return clock.sleep(atMs - clock.nowMs(), signal);
}

/** The value of `promise`, or `fallback` if it has not settled within `ms` (a rejection counts as settled). */
export async function within<T, F>(clock: SimClock, promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  const stop = new AbortController();
  try {
    return await Promise.race([promise, clock.sleep(ms, stop.signal).then(() => fallback)]);
  } finally {
    stop.abort();
  }
}
