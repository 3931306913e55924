// A token bucket per device over everything it publishes. Time comes from the injected clock.
import type { Clock } from '../service/ports.js';

interface Bucket { tokens: number; updatedMs: number }

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly clock: Clock, private readonly perSecond: number, private readonly burst: number) {}

  /** Takes one token; false when the device is over its rate. */
  take(device: string): boolean {
    const nowMs = this.clock.nowMs();
    let bucket = this.buckets.get(device);
    if (bucket === undefined) {
      bucket = { tokens: this.burst, updatedMs: nowMs };
      this.buckets.set(device, bucket);
    }
    const refill = ((nowMs - bucket.updatedMs) / 1000) * this.perSecond;
    bucket.tokens = Math.min(this.burst, bucket.tokens + Math.max(0, refill));
    bucket.updatedMs = nowMs;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

}
