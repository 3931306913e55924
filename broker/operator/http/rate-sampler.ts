// Samples the service counters once a second into vouchers/s (the dashboard's chart and the
// `rate` live event), keeping a bounded history for streams that connect later.
import type { Clock } from '../../service/ports.js';
import type { Telemetry } from '../../service/telemetry.js';
import { RATE_HISTORY_SAMPLES_MAX, RATE_SAMPLE_MS } from '../../limits.js';

export interface RateSample {
  readonly atMs: number;
  readonly vouchersPerSecond: number;
  readonly rejectedPerSecond: number;
  /** Cumulative since the broker started. */
  readonly vouchersAccepted: number;
  readonly online: number;
}

export class RateSampler {
  private timer: NodeJS.Timeout | null = null;
  private readonly samples: RateSample[] = [];
  private last = { atMs: 0, accepted: 0, rejected: 0 };

  constructor(private readonly stats: Telemetry, private readonly online: () => number, private readonly clock: Clock) {}

  start(onSample: (sample: RateSample) => void): void {
    if (this.timer !== null) return;
    this.last = { atMs: this.clock.nowMs(), accepted: this.stats.vouchersAccepted, rejected: this.stats.rejectedTotal() };
    this.timer = setInterval(() => onSample(this.sample()), RATE_SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  history(): readonly RateSample[] {
    return this.samples;
  }

  private sample(): RateSample {
    const now = { atMs: this.clock.nowMs(), accepted: this.stats.vouchersAccepted, rejected: this.stats.rejectedTotal() };
    const seconds = Math.max(now.atMs - this.last.atMs, 1) / 1000;
    const sample: RateSample = {
      atMs: now.atMs,
      vouchersPerSecond: Math.round((now.accepted - this.last.accepted) / seconds),
      rejectedPerSecond: Math.round((now.rejected - this.last.rejected) / seconds),
      vouchersAccepted: now.accepted,
      online: this.online(),
    };
    this.last = now;
    this.samples.push(sample);
    if (this.samples.length > RATE_HISTORY_SAMPLES_MAX) this.samples.shift();
    return sample;
  }
}
