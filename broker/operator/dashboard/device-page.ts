// One device's page (#/device/{id}): its wallet and status with the actions on it, its channels
// as payer and payee, recent vouchers and settlements, operator events, online history and
// alarms, from GET /api/devices/{id}/activity (every list bounded by the API).
import { ApiError, type ApiClient } from './api-client.js';
import { h, fill, byId } from './dom.js';
import { ago, displayAmount, shortId, timeOfDay } from './format.js';
import { renderAlarmList } from './panel-alarms.js';
import { actionButton, CHANNEL_HEADERS, channelRows, statusButton, table } from './panel-tables.js';
import type { DeviceActivityView } from './view-types.js';

export const DEVICE_PAGE_ITEMS = 20;

type OpsEventView = DeviceActivityView['events'][number];

function eventText(event: OpsEventView): string {
  switch (event.type) {
    case 'wallet.funded': return `funded ${displayAmount(event.amount)}`;
    case 'device.double-signed': return `double-signed seq ${event.seq} on ${shortId(event.channel)}`;
    default: return event.type.replace(/^device\./, '');
  }
}

function eventList(events: readonly OpsEventView[], empty: string, nowMs: number): HTMLElement {
  if (events.length === 0) return h('div', { class: 'empty-note' }, empty);
  return h('ol', { class: 'feed compact' }, ...events.map((event) =>
    h('li', { 'data-event': event.type }, h('span', { class: 'mono' }, timeOfDay(event.atMs)), h('span', {}, eventText(event)), h('span', { class: 'muted' }, ago(event.atMs, nowMs)))));
}

function header(view: DeviceActivityView): HTMLElement {
  const device = view.device;
  return h('article', { class: 'card device-head' },
    h('div', {},
      h('h1', { id: 'device-title' }, device.id),
      h('div', { class: 'muted' }, h('span', { class: device.online ? 'online' : 'offline' }, device.online ? 'online' : 'offline'), ' · ',
        h('span', { class: `tag ${device.status === 'disabled' ? 'tag-disabled' : ''}`, id: 'device-status' }, device.status), ' · enrolled ', device.createdAt.slice(0, 19).replace('T', ' '))),
    h('div', { class: 'device-wallet' },
      h('div', { class: 'label' }, 'wallet'), h('div', { class: 'big', id: 'device-balance' }, displayAmount(device.balance)),
      h('div', { class: 'device-actions' }, statusButton(device.id, device.status), actionButton('withdraw', 'Withdraw', { device: device.id }, false))),
  );
}

function section(title: string, note: string, body: HTMLElement): HTMLElement {
  return h('article', { class: 'card' }, h('header', {}, h('h2', {}, title), h('span', { class: 'muted' }, note)), body);
}

function render(container: HTMLElement, view: DeviceActivityView, nowMs: number): void {
  const since = `since ${timeOfDay(view.historySinceMs)}`;
  const vouchers = view.vouchers.map((voucher) => h('tr', {}, h('td', { class: 'mono', title: voucher.channel }, shortId(voucher.channel)), h('td', {}, voucher.role), h('td', { class: 'num' }, voucher.seq), h('td', { class: 'num' }, displayAmount(voucher.total)), h('td', { class: 'mono' }, timeOfDay(voucher.acceptedAtMs))));
  const settlements = view.settlements.map((item) => h('tr', {}, h('td', { class: 'mono' }, item.settlement), h('td', { class: 'mono', title: item.channel }, shortId(item.channel)), h('td', {}, item.role === 'payee' ? 'received' : 'paid'), h('td', { class: 'num' }, displayAmount(item.amount)), h('td', { class: 'mono' }, timeOfDay(item.createdAtMs))));
  const alarms = h('ol', { class: 'feed alarms compact' });
  renderAlarmList(alarms, view.alarms);
  fill(
    container,
    header(view),
    section('Channels', `${view.channels.asPayer} as payer · ${view.channels.asPayee} as payee`, table(CHANNEL_HEADERS, channelRows(view.channels.newest), 'No channels.')),
    h('section', { class: 'grid two' },
      section('Recent vouchers', 'newest first', table(['channel', 'role', ['seq', 'num'], ['total', 'num'], 'accepted'], vouchers, 'No vouchers.')),
      section('Settlements', 'newest first', table(['settlement', 'channel', '', ['amount', 'num'], 'at'], settlements, 'No settlements.'))),
    h('section', { class: 'grid three' },
      section('Events', since, eventList(view.events, 'No operator events.', nowMs)),
      section('Online history', since, eventList(view.presence, 'No connects seen.', nowMs)),
      section('Alarms', 'recent', alarms)),
  );
}

export class DevicePage {
  private current: string | null = null;
  private loading = false;
  private again = false;

  constructor(private readonly api: ApiClient) {}

  get device(): string | null {
    return this.current;
  }

  show(id: string): void {
    this.current = id;
    fill(byId('device-view'), h('div', { class: 'empty-note' }, `Loading ${id}…`));
    void this.refresh();
  }

  hide(): void {
    this.current = null;
  }

  /** Re-reads the open page; calls that arrive during a load run once after it. */
  async refresh(): Promise<void> {
    const id = this.current;
    if (id === null) return;
    if (this.loading) return void (this.again = true);
    this.loading = true;
    try {
      const view = await this.api.get<DeviceActivityView>(`/api/devices/${encodeURIComponent(id)}/activity?limit=${DEVICE_PAGE_ITEMS}`);
      if (this.current === id) render(byId('device-view'), view, Date.now());
    } catch (error) {
      const text = error instanceof ApiError ? `${error.code}: ${error.message}` : String(error);
      if (this.current === id) fill(byId('device-view'), h('article', { class: 'card' }, h('p', { class: 'error', role: 'alert' }, text), h('p', {}, 'Back to ', h('a', { href: '#' }, 'the overview'), '.')));
    } finally {
      this.loading = false;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    }
  }
}
