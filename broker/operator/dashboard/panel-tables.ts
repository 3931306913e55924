// The wallet, channel and device tables.
import { h, fill } from './dom.js';
import { amountToNumber, displayAmount, shortId } from './format.js';
import { deviceLink } from './links.js';
import type { ChannelView, DeviceView, WalletView } from './view-types.js';

export function table(headers: readonly (string | [string, 'num'])[], rows: readonly HTMLTableRowElement[], empty: string): HTMLElement {
  if (rows.length === 0) return h('div', { class: 'empty-note' }, empty);
  const head = h('tr', {}, ...headers.map((header) => (typeof header === 'string' ? h('th', {}, header) : h('th', { class: 'num' }, header[0]))));
  return h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, head), h('tbody', {}, ...rows)));
}

/** A proportional bar; sized through CSSOM because the page's CSP forbids style attributes. */
function bar(fraction: number): HTMLElement {
  const element = h('div', { class: 'bar' });
  element.style.width = `${(fraction * 100).toFixed(1)}%`;
  return element;
}

export function renderWallets(container: HTMLElement, wallets: readonly WalletView[], online: ReadonlySet<string>): void {
  const sorted = [...wallets].sort((a, b) => amountToNumber(b.balance) - amountToNumber(a.balance));
  const max = Math.max(1e-6, ...sorted.map((wallet) => amountToNumber(wallet.balance)));
  const rows = sorted.map((wallet) =>
    h('tr', { 'data-wallet': wallet.device },
      h('td', { class: online.has(wallet.device) ? 'online' : 'offline' }, deviceLink(wallet.device)),
      h('td', { class: 'num' }, displayAmount(wallet.balance)),
      h('td', { class: 'bar-cell' }, bar(amountToNumber(wallet.balance) / max))),
  );
  fill(container, table(['device', ['balance', 'num'], ''], rows, 'No wallets yet: enrol a device.'));
}

/** A button that asks for confirmation before it acts (main.ts handles [data-action] clicks). */
export function actionButton(action: string, label: string, data: Readonly<Record<string, string>>, quiet = true): HTMLButtonElement {
  const attributes: Record<string, string> = { type: 'button', class: quiet ? 'button button-quiet button-small' : 'button button-small', 'data-action': action };
  for (const [name, value] of Object.entries(data)) attributes[`data-${name}`] = value;
  return h('button', attributes, label);
}

export function channelRows(channels: readonly ChannelView[]): HTMLTableRowElement[] {
  return channels.map((channel) =>
    h('tr', { 'data-channel': channel.id, title: channel.id },
      h('td', { class: 'mono' }, shortId(channel.id)),
      h('td', {}, deviceLink(channel.payer), ' → ', deviceLink(channel.payee)),
      h('td', { class: 'num' }, displayAmount(channel.deposit)),
      h('td', { class: 'num' }, displayAmount(channel.latestTotal)),
      h('td', { class: 'num' }, displayAmount(channel.settledTotal)),
      h('td', { class: 'num' }, channel.latestSeq),
      // A closing channel shows its deadline: the payee may redeem until then [docs/DESIGN.md rule 11];
      // a payer flagged for double-signing is marked.
      h('td', { title: channel.closesAt ?? '' }, h('span', { class: `tag tag-${channel.state}` }, channel.state), channel.closesAt === null ? '' : ` until ${channel.closesAt.slice(11, 19)}`,
        channel.doubleSigns > 0 ? h('span', { class: 'tag tag-disabled', title: `${channel.doubleSigns} double-sign evidence rows` }, 'double-signed') : ''),
      h('td', {}, channel.state === 'open' ? actionButton('close-channel', 'Force-close', { channel: channel.id }) : '')),
  );
}

export const CHANNEL_HEADERS: readonly (string | [string, 'num'])[] = ['channel', 'payer → payee', ['deposit', 'num'], ['paid', 'num'], ['settled', 'num'], ['seq', 'num'], 'state', ''];

export function renderChannels(container: HTMLElement, channels: readonly ChannelView[]): void {
  fill(container, table(CHANNEL_HEADERS, channelRows(channels), 'No channels yet.'));
}

export function renderDevices(container: HTMLElement, devices: readonly DeviceView[], online: ReadonlySet<string>): void {
  const sorted = [...devices].sort((a, b) => Number(online.has(b.id)) - Number(online.has(a.id)) || a.id.localeCompare(b.id));
  const rows = sorted.map((device) =>
    h('tr', { 'data-device': device.id },
      h('td', { class: online.has(device.id) ? 'online' : 'offline' }, deviceLink(device.id)),
      h('td', {}, online.has(device.id) ? 'online' : 'offline'),
      h('td', {}, h('span', { class: `tag ${device.status === 'disabled' ? 'tag-disabled' : ''}` }, device.status)),
      h('td', { class: 'mono', title: device.publicKey }, shortId(device.publicKey)),
      h('td', {}, statusButton(device.id, device.status))),
  );
  fill(container, table(['device', 'session', 'status', 'public key', ''], rows, 'No devices enrolled.'));
}

export function statusButton(device: string, status: 'active' | 'disabled'): HTMLButtonElement {
  return status === 'active' ? actionButton('disable', 'Disable', { device }) : actionButton('enable', 'Enable', { device });
}
