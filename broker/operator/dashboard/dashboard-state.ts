// What the dashboard knows, updated from API loads and live events (pure; no DOM).
import { parseAmount } from '../../../shared/amount.js';
import type { Point } from './chart-math.js';
import { formatMicro } from './format.js';
import type { AlarmCounts, AlarmsView, ChannelView, DeviceView, FeedItem, OpsAlarm, OpsAlarms, RateSample, SummaryView, WalletView } from './view-types.js';

export const FEED_ITEMS_MAX = 100;
export const RATE_SAMPLES_MAX = 300;
export const ALARMS_KEPT_MAX = 100;

export class DashboardState {
  devices: readonly DeviceView[] = [];
  wallets: readonly WalletView[] = [];
  channels: readonly ChannelView[] = [];
  summary: SummaryView | null = null;
  alarmCounts: AlarmCounts | null = null;
  alarms: OpsAlarm[] = [];
  feed: FeedItem[] = [];
  rates: RateSample[] = [];
  readonly online = new Set<string>();

  /** Adds a settlement once (an API load and a live event may both bring it); newest first. */
  addSettlement(item: FeedItem): boolean {
    if (this.feed.some((known) => known.id === item.id)) return false;
    this.feed = [...this.feed, item].sort((a, b) => b.createdAtMs - a.createdAtMs).slice(0, FEED_ITEMS_MAX);
    return true;
  }

  /** Adds a sample newer than the last one (a reconnect's `hello` repeats history). */
  addRate(sample: RateSample): void {
    const last = this.rates[this.rates.length - 1];
    if (last !== undefined && sample.atMs <= last.atMs) return;
    this.rates.push(sample);
    if (this.rates.length > RATE_SAMPLES_MAX) this.rates.shift();
  }

  /** The API's snapshot (newest first), e.g. on load and after a reconnect. */
  setAlarms(view: AlarmsView): void {
    this.alarmCounts = view.counts;
    this.alarms = view.recent.slice(0, ALARMS_KEPT_MAX);
  }

  /** A live push: its counters, and its incidents (oldest first) on top of the list. */
  addAlarms(push: OpsAlarms): void {
    this.alarmCounts = push.counts;
    this.alarms = [...[...push.recent].reverse(), ...this.alarms].slice(0, ALARMS_KEPT_MAX);
  }

  setOnline(devices: readonly string[]): void {
    this.online.clear();
    for (const device of devices) this.online.add(device);
  }

  /** The exact sum of the settlements in the feed, as a decimal string. */
  settledTotal(): string {
    return formatMicro(this.feed.reduce((sum, item) => sum + parseAmount(item.amount), 0n));
  }

  /** Running total of settled amounts over time, oldest first (for the step chart). */
  settledPoints(): Point[] {
    let micro = 0n;
    return [...this.feed].reverse().map((item) => {
      micro += parseAmount(item.amount);
      return { x: item.createdAtMs, y: Number(micro) / 1e6 };
    });
  }

  ratePoints(): Point[] {
    return this.rates.map((sample) => ({ x: sample.atMs, y: sample.vouchersPerSecond }));
  }
}
