// The running dashboard: loads the lists once, then follows the live stream. Settlements go
// straight into the feed and charts, alarms into their panel; the tables and totals they change
// are re-read from the API (debounced). Totals come from GET /api/summary (SQL aggregates over
// the whole ledger), re-read while vouchers flow: the tables show a page, the totals never do.
import type { ApiClient, Page } from './api-client.js';
import { clipStep, windowStart } from './chart-math.js';
import { DashboardState } from './dashboard-state.js';
import { DevicePage } from './device-page.js';
import { byId } from './dom.js';
import { compactNumber, displayAmount } from './format.js';
import { openLiveStream, type LiveEventName, type LiveStatus } from './live-stream.js';
import { renderAlarmCounts, renderAlarmList } from './panel-alarms.js';
import { renderFeed } from './panel-feed.js';
import { renderSummary } from './panel-summary.js';
import { renderChannels, renderDevices, renderWallets } from './panel-tables.js';
import { renderChart } from './svg-chart.js';
import type { AlarmsView, ChannelView, DeviceView, FeedItem, OpsAlarms, RateSample, SettlementView, SummaryView, WalletView } from './view-types.js';

type Table = 'devices' | 'wallets' | 'channels' | 'summary' | 'alarms';
const ALL_TABLES: readonly Table[] = ['devices', 'wallets', 'channels', 'summary', 'alarms'];
const REFRESH_DEBOUNCE_MS = 300;
const WHILE_PAYING_REFRESH_MS = 2_000;
const RATE_WINDOW_MS = 5 * 60_000;
const SETTLED_WINDOW_MS = 15 * 60_000;
/** Charts span the data there is, at least this much and at most the windows above. */
const MIN_WINDOW_MS = 15_000;
/** The overview's tables show one page each; the totals above them count everything. */
const DEVICES_SHOWN_MAX = 500;
const CHANNELS_SHOWN_MAX = 100;

const TABLES_OF_EVENT: Partial<Record<LiveEventName, readonly Table[]>> = {
  settlement: ['wallets', 'channels', 'summary'],
  'device.enrolled': ['devices', 'wallets', 'summary'],
  'device.disabled': ['devices', 'summary'],
  'device.enabled': ['devices', 'summary'],
  'wallet.funded': ['wallets', 'devices', 'summary'],
  'wallet.payout': ['wallets', 'devices', 'summary'],
  'fees.payout': ['summary'],
  'wallet.moved': ['wallets', 'devices', 'summary'],
  'channel.closed': ['channels', 'wallets', 'summary'],
  'channel.closing': ['channels', 'summary'],
  'device.double-signed': ['channels'],
  'device.rekeyed': ['devices', 'channels'],
};

export class DashboardApp {
  private readonly state = new DashboardState();
  private readonly pending = new Set<Table>();
  private readonly fresh = new Set<string>();
  readonly devicePage: DevicePage;
  private refreshTimer: number | undefined;
  private lastPayingRefreshMs = 0;
  private closeStream: (() => void) | null = null;

  constructor(private readonly api: ApiClient, private readonly onStatus: (status: LiveStatus) => void) {
    this.devicePage = new DevicePage(api);
  }

  async start(): Promise<void> {
    await Promise.all([...ALL_TABLES.map((table) => this.load(table)), this.loadSettlements()]);
    this.renderAll();
    this.closeStream = openLiveStream(this.api.token, (name, data) => this.onEvent(name, data), this.onStatus);
    window.addEventListener('resize', () => this.renderCharts());
  }

  stop(): void {
    this.closeStream?.();
    window.clearTimeout(this.refreshTimer);
  }

  /** Device ids for the search box's suggestions (the loaded page of devices). */
  deviceIds(): string[] {
    return this.state.devices.map((device) => device.id);
  }

  /** After an action: re-read everything it may have changed. */
  refreshAfterAction(): void {
    for (const table of ALL_TABLES) this.pending.add(table);
    this.scheduleRefresh();
    void this.devicePage.refresh();
  }

  private async load(table: Table): Promise<void> {
    const state = this.state;
    if (table === 'devices') state.devices = (await this.api.get<Page<DeviceView>>(`/api/devices?limit=${DEVICES_SHOWN_MAX}`)).items;
    if (table === 'wallets') state.wallets = (await this.api.get<Page<WalletView>>(`/api/wallets?limit=${DEVICES_SHOWN_MAX}`)).items;
    if (table === 'channels') state.channels = (await this.api.get<Page<ChannelView>>(`/api/channels?limit=${CHANNELS_SHOWN_MAX}`)).items;
    if (table === 'summary') state.summary = await this.api.get<SummaryView>('/api/summary');
    if (table === 'alarms') state.setAlarms(await this.api.get<AlarmsView>('/api/alarms'));
    if (table === 'devices') state.setOnline(state.devices.filter((device) => device.online).map((device) => device.id));
  }

  private async loadSettlements(): Promise<void> {
    const page = await this.api.get<Page<SettlementView>>('/api/settlements?limit=100');
    for (const item of page.items) this.state.addSettlement(item);
  }

  private onEvent(name: LiveEventName, data: unknown): void {
    const event = data as Record<string, unknown>;
    if (name === 'hello') return this.onHello(event.online as string[], event.rates as RateSample[]);
    if (name === 'rate') return this.onRate(data as RateSample);
    if (name === 'alarms') return this.onAlarms(data as OpsAlarms);
    if (name === 'device.connected') this.state.online.add(String(event.device));
    if (name === 'device.disconnected') this.state.online.delete(String(event.device));
    if (name === 'settlement' && this.state.addSettlement(data as FeedItem)) this.markFresh((data as FeedItem).id);
    for (const table of TABLES_OF_EVENT[name] ?? []) this.pending.add(table);
    if (name === 'settlement' || event.device === this.devicePage.device) void this.devicePage.refresh();
    this.scheduleRefresh();
    this.renderAll();
  }

  /** A (re)connected stream: take its history, and catch up on what a gap may have missed. */
  private onHello(online: readonly string[], rates: readonly RateSample[]): void {
    this.state.setOnline(online);
    for (const sample of rates) this.state.addRate(sample);
    for (const table of ALL_TABLES) this.pending.add(table);
    this.loadSettlements().then(() => this.renderAll(), () => undefined);
    this.scheduleRefresh();
    this.renderAll();
  }

  private onAlarms(push: OpsAlarms): void {
    this.state.addAlarms(push);
    this.renderAlarms();
    if (push.recent.some((alarm) => alarm.client === this.devicePage.device)) void this.devicePage.refresh();
  }

  private onRate(sample: RateSample): void {
    this.state.addRate(sample);
    // Channels open and pay without an operator event: re-read the totals and channels while it flows.
    if (sample.atMs - this.lastPayingRefreshMs >= WHILE_PAYING_REFRESH_MS) {
      this.lastPayingRefreshMs = sample.atMs;
      this.pending.add('summary');
      if (sample.vouchersPerSecond > 0) this.pending.add('channels');
      this.scheduleRefresh();
    }
    this.renderSummary();
    this.renderCharts();
  }

  private markFresh(id: string): void {
    this.fresh.add(id);
    window.setTimeout(() => this.fresh.delete(id), 3_000);
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer !== undefined || this.pending.size === 0) return;
    this.refreshTimer = window.setTimeout(() => {
      this.refreshTimer = undefined;
      const tables = [...this.pending];
      this.pending.clear();
      Promise.all(tables.map((table) => this.load(table))).then(() => this.renderTables(), () => undefined);
    }, REFRESH_DEBOUNCE_MS);
  }

  private renderAll(): void {
    this.renderSummary();
    this.renderCharts();
    this.renderTables();
    renderFeed(byId('settlement-feed'), this.state.feed, this.fresh, Date.now());
  }

  private renderSummary(): void {
    const last = this.state.rates[this.state.rates.length - 1];
    renderSummary(byId('summary'), this.state.summary, { vouchersPerSecond: last?.vouchersPerSecond ?? 0, vouchersAccepted: last?.vouchersAccepted ?? 0 });
  }

  private renderAlarms(): void {
    renderAlarmCounts(byId('alarm-counts'), this.state.alarmCounts);
    renderAlarmList(byId('alarm-list'), this.state.alarms);
  }

  private renderCharts(): void {
    const now = Date.now();
    const rates = this.state.ratePoints();
    const last = rates[rates.length - 1];
    byId('rate-now').textContent = `${(last?.y ?? 0).toLocaleString('en-US')} /s`;
    renderChart(byId<SVGSVGElement>('chart-rate'), { points: rates, fromMs: windowStart(now, rates[0]?.x, MIN_WINDOW_MS, RATE_WINDOW_MS), toMs: now, kind: 'line', name: 'rate', formatY: compactNumber, empty: 'waiting for samples…' });
    const settled = this.state.settledPoints();
    const from = windowStart(now, settled[0]?.x, MIN_WINDOW_MS, SETTLED_WINDOW_MS);
    byId('settled-now').textContent = displayAmount(this.state.settledTotal());
    renderChart(byId<SVGSVGElement>('chart-settled'), { points: clipStep(settled, from), fromMs: from, toMs: now, kind: 'step', name: 'settled', formatY: compactNumber, empty: 'no settlements yet' });
  }

  private renderTables(): void {
    const state = this.state;
    renderWallets(byId('wallets'), state.wallets, state.online);
    renderChannels(byId('channels'), state.channels);
    renderDevices(byId('devices'), state.devices, state.online);
    const total = state.summary?.channels.total;
    byId('channel-count').textContent = total === undefined || total <= state.channels.length ? `${state.channels.length} shown` : `newest ${state.channels.length} of ${total.toLocaleString('en-US')}`;
    byId('device-count').textContent = `${state.online.size} online of ${state.summary?.devices.enrolled ?? state.devices.length}`;
    this.renderSummary();
    this.renderAlarms();
  }
}
