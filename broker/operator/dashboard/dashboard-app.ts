// The running dashboard: loads the lists once, then follows the live stream. Settlements go
// straight into the feed and charts; the tables they change are re-read from the API (debounced),
// and channel totals are refreshed while vouchers flow.
import type { ApiClient, Page } from './api-client.js';
import { clipStep, windowStart } from './chart-math.js';
import { DashboardState } from './dashboard-state.js';
import { byId } from './dom.js';
import { compactNumber, displayAmount } from './format.js';
import { openLiveStream, type LiveEventName, type LiveStatus } from './live-stream.js';
import { renderFeed } from './panel-feed.js';
import { renderSummary } from './panel-summary.js';
import { renderChannels, renderDevices, renderWallets } from './panel-tables.js';
import { renderChart } from './svg-chart.js';
import type { ChannelView, DeviceView, FeedItem, LedgerView, RateSample, SettlementView, WalletView } from './view-types.js';

type Table = 'devices' | 'wallets' | 'channels' | 'ledger';
const REFRESH_DEBOUNCE_MS = 300;
const CHANNELS_WHILE_PAYING_MS = 2_000;
const RATE_WINDOW_MS = 5 * 60_000;
const SETTLED_WINDOW_MS = 15 * 60_000;
/** Charts span the data there is, at least this much and at most the windows above. */
const MIN_WINDOW_MS = 15_000;

const TABLES_OF_EVENT: Partial<Record<LiveEventName, readonly Table[]>> = {
  settlement: ['wallets', 'channels', 'ledger'],
  'device.enrolled': ['devices', 'wallets'],
  'device.disabled': ['devices'],
  'device.enabled': ['devices'],
  'wallet.funded': ['wallets', 'ledger', 'devices'],
  'wallet.payout': ['wallets', 'ledger', 'devices'],
  'fees.payout': ['ledger'],
  'wallet.moved': ['wallets', 'ledger', 'devices'],
  'channel.closed': ['channels', 'wallets', 'ledger'],
  'channel.closing': ['channels'],
  'device.double-signed': ['channels'],
};

export class DashboardApp {
  private readonly state = new DashboardState();
  private readonly pending = new Set<Table>();
  private readonly fresh = new Set<string>();
  private refreshTimer: number | undefined;
  private lastChannelRefreshMs = 0;
  private closeStream: (() => void) | null = null;

  constructor(private readonly api: ApiClient, private readonly onStatus: (status: LiveStatus) => void) {}

  async start(): Promise<void> {
    await Promise.all([this.load('devices'), this.load('wallets'), this.load('channels'), this.load('ledger'), this.loadSettlements()]);
    this.renderAll();
    this.closeStream = openLiveStream(this.api.token, (name, data) => this.onEvent(name, data), this.onStatus);
    window.addEventListener('resize', () => this.renderCharts());
  }

  stop(): void {
    this.closeStream?.();
    window.clearTimeout(this.refreshTimer);
  }

  async settleNow(): Promise<void> {
    await this.api.post('/api/settlements');
  }

  private async load(table: Table): Promise<void> {
    const state = this.state;
    if (table === 'devices') state.devices = (await this.api.get<Page<DeviceView>>('/api/devices?limit=500')).items;
    if (table === 'wallets') state.wallets = (await this.api.get<Page<WalletView>>('/api/wallets?limit=500')).items;
    if (table === 'channels') state.channels = (await this.api.get<Page<ChannelView>>('/api/channels?limit=100')).items;
    if (table === 'ledger') state.ledger = await this.api.get<LedgerView>('/api/ledger');
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
    if (name === 'device.connected') this.state.online.add(String(event.device));
    if (name === 'device.disconnected') this.state.online.delete(String(event.device));
    if (name === 'settlement' && this.state.addSettlement(data as FeedItem)) this.markFresh((data as FeedItem).id);
    for (const table of TABLES_OF_EVENT[name] ?? []) this.pending.add(table);
    this.scheduleRefresh();
    this.renderAll();
  }

  /** A (re)connected stream: take its history, and catch up on what a gap may have missed. */
  private onHello(online: readonly string[], rates: readonly RateSample[]): void {
    this.state.setOnline(online);
    for (const sample of rates) this.state.addRate(sample);
    for (const table of ['devices', 'wallets', 'channels', 'ledger'] as const) this.pending.add(table);
    this.loadSettlements().then(() => this.renderAll(), () => undefined);
    this.scheduleRefresh();
    this.renderAll();
  }

  private onRate(sample: RateSample): void {
    this.state.addRate(sample);
    if (sample.vouchersPerSecond > 0 && sample.atMs - this.lastChannelRefreshMs >= CHANNELS_WHILE_PAYING_MS) {
      this.lastChannelRefreshMs = sample.atMs;
      this.pending.add('channels');
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
    const state = this.state;
    const last = state.rates[state.rates.length - 1];
    renderSummary(byId('summary'), {
      vouchersPerSecond: last?.vouchersPerSecond ?? 0, vouchersAccepted: last?.vouchersAccepted ?? 0,
      online: state.online.size, devices: state.devices.length,
      openChannels: state.channels.filter((channel) => channel.state === 'open').length, channels: state.channels.length,
      settledInView: state.settledTotal(), settlements: state.feed.length, ledger: state.ledger,
    });
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
    byId('channel-count').textContent = `${state.channels.length} shown`;
    byId('device-count').textContent = `${state.online.size} online of ${state.devices.length}`;
    this.renderSummary();
  }
}
