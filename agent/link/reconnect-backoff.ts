// Reconnect delays: exponential backoff with "equal jitter" (half fixed, half random). After a
// broker restart every device of a fleet loses its connection at the same instant; without
// jitter they would all come back in the same millisecond and again after each failure.
import type { RandomBytes } from '../../shared/ids.js';

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** A uniform fraction in [0, 1) from the injected random source (timing only, never money). */
function fractionOf(random: RandomBytes): number {
  const bytes = random(4);
  const value = (((bytes[0] ?? 0) << 24) | ((bytes[1] ?? 0) << 16) | ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0)) >>> 0;
  return value / 0x1_0000_0000;
}

/** Delay before reconnect attempt `attempt` (0 = first attempt after a loss). */
export function reconnectDelayMs(attempt: number, options: BackoffOptions, random: RandomBytes): number {
  const exponent = Math.min(attempt, 20);
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** exponent);
  const half = ceiling / 2;
  return Math.max(1, Math.round(half + fractionOf(random) * half));
}
