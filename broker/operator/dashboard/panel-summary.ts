// The row of headline numbers, from GET /api/summary (SQL aggregates over the whole ledger) and
// the live vouchers/s sample. Each card carries data-stat and its value data-value, so a test
// can compare the page with the API.
import { h, fill } from './dom.js';
import { displayAmount } from './format.js';
import type { SummaryView } from './view-types.js';

export interface Rate {
  readonly vouchersPerSecond: number;
  readonly vouchersAccepted: number;
}

function stat(key: string, label: string, value: string, sub: string): HTMLElement {
  return h('article', { class: 'card stat', 'data-stat': key }, h('div', { class: 'label' }, label), h('div', { class: 'value', 'data-value': value }, value), h('div', { class: 'sub' }, sub));
}

const count = (value: number): string => value.toLocaleString('en-US');

export function renderSummary(container: HTMLElement, summary: SummaryView | null, rate: Rate): void {
  const rateCard = stat('vouchers-per-second', 'Vouchers / s', count(rate.vouchersPerSecond), `${count(rate.vouchersAccepted)} accepted since start`);
  if (summary === null) return fill(container, rateCard);
  const { devices, channels, ledger, settled } = summary;
  fill(
    container,
    rateCard,
    stat('online', 'Devices online', `${count(devices.online)} / ${count(devices.enrolled)}`, `connected now / enrolled${devices.disabled > 0 ? ` · ${count(devices.disabled)} disabled` : ''}`),
    stat('open-channels', 'Open channels', count(channels.open), `${count(channels.closing)} closing · ${count(channels.total)} in all`),
    // The ledger's one currency labels its totals [docs/DESIGN.md rule 13].
    stat('escrow', `In escrow (${ledger.currency})`, displayAmount(ledger.escrow.balance), `${count(ledger.escrow.accounts)} escrow accounts`),
    stat('wallets', `In wallets (${ledger.currency})`, displayAmount(ledger.wallets.balance), `${count(ledger.wallets.accounts)} wallets · fees ${displayAmount(ledger.fees)}${ledger.balanced ? '' : ' · UNBALANCED'}`),
    stat('settled', `Settled (${ledger.currency})`, displayAmount(settled.amount), `${count(settled.settlements)} settlements · fees ${displayAmount(settled.fee)}`),
  );
}
