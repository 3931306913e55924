// The row of headline numbers.
import { h, fill } from './dom.js';
import { displayAmount } from './format.js';
import type { LedgerView } from './view-types.js';

export interface Summary {
  readonly vouchersPerSecond: number;
  readonly vouchersAccepted: number;
  readonly online: number;
  readonly devices: number;
  readonly openChannels: number;
  readonly channels: number;
  readonly settledInView: string;
  readonly settlements: number;
  readonly ledger: LedgerView | null;
}

function stat(label: string, value: string, sub: string): HTMLElement {
  return h('article', { class: 'card stat' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value), h('div', { class: 'sub' }, sub));
}

export function renderSummary(container: HTMLElement, summary: Summary): void {
  const ledger = summary.ledger;
  fill(
    container,
    stat('Vouchers / s', summary.vouchersPerSecond.toLocaleString('en-US'), `${summary.vouchersAccepted.toLocaleString('en-US')} accepted since start`),
    stat('Devices online', `${summary.online} / ${summary.devices}`, 'connected now / enrolled'),
    stat('Open channels', String(summary.openChannels), `${summary.channels} listed`),
    stat('Settled', displayAmount(summary.settledInView), `${summary.settlements} settlements listed`),
    // The ledger's one currency labels its totals [docs/DESIGN.md rule 13].
    stat(ledger === null ? 'In wallets' : `In wallets (${ledger.currency})`, ledger === null ? '…' : displayAmount(ledger.wallets.balance), ledger === null ? '' : `escrow ${displayAmount(ledger.escrow.balance)} · fees ${displayAmount(ledger.fees)}${ledger.balanced ? '' : ' · UNBALANCED'}`),
  );
}
