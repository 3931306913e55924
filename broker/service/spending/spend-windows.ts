// The spend windows of the devices paying now, by device: each loaded from the store's buckets
// on first use (concurrent first uses share one load), then kept in step by the voucher path.
// Bounded, least recently used out; a window holding spend whose commit is pending is never
// evicted, so a reload from the store never misses spend the memory had counted.
import { SPEND_BUCKET_MS, SPEND_DAY_BUCKETS, SPEND_WINDOWS_MAX } from '../../limits.js';
import type { StoreReads } from '../../store/port.js';
import { SpendWindow } from './spend-window.js';

export const minuteOf = (nowMs: number): number => Math.floor(nowMs / SPEND_BUCKET_MS);

export class SpendWindows {
  private readonly windows = new Map<string, SpendWindow>();
  private readonly loading = new Map<string, Promise<SpendWindow>>();

  constructor(private readonly reads: StoreReads, private readonly windowsMax: number = SPEND_WINDOWS_MAX) {}

  get size(): number {
    return this.windows.size;
  }

  /** The device's window when it is in memory (made the most recently used), else null; no promise. */
  hit(device: string): SpendWindow | null {
    const hit = this.windows.get(device);
    if (hit === undefined) return null;
    this.windows.delete(device);
    this.windows.set(device, hit);
    return hit;
  }

  async get(device: string, nowMs: number): Promise<SpendWindow> {
    const hit = this.hit(device);
    if (hit !== null) return hit;
    let load = this.loading.get(device);
    if (load === undefined) {
      load = this.load(device, nowMs).finally(() => this.loading.delete(device));
      this.loading.set(device, load);
    }
    return load;
  }

  private async load(device: string, nowMs: number): Promise<SpendWindow> {
    const nowMinute = minuteOf(nowMs);
    const window = new SpendWindow(await this.reads.spendBuckets(device, nowMinute - SPEND_DAY_BUCKETS + 1), nowMinute);
    const present = this.windows.get(device);
    if (present !== undefined) return present;
    this.windows.set(device, window);
    this.trim();
    return window;
  }

  private trim(): void {
    for (const [device, window] of this.windows) {
      if (this.windows.size <= this.windowsMax) return;
      if (window.pending === 0) this.windows.delete(device);
    }
  }
}
