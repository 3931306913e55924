// Plain-text tables of the CLI views. Each with amounts ends with the ledger's currency [docs/DESIGN.md rule 13].
import { table } from '../../../cli/table.js';
import type { ChannelView, SettlementDetailView, WalletView } from '../http/resource-views.js';
import type { DeviceRowView } from './view-source-types.js';

const session = (online: boolean | null): string => (online === null ? '-' : online ? 'online' : 'offline');
const shortHex = (hex: string): string => `${hex.slice(0, 16)}…`;

export function devicesTable(devices: readonly DeviceRowView[]): string {
  return table(['device', 'status', 'session', 'balance', 'enrolled', 'public key', 'currency'], devices.map((d) => [d.id, d.status, session(d.online), d.balance, d.createdAt, shortHex(d.publicKey), d.currency]));
}

export function walletsTable(wallets: readonly WalletView[]): string {
  return table(['device', 'balance', 'currency'], wallets.map((w) => [w.device, w.balance, w.currency]));
}

export function channelsTable(channels: readonly ChannelView[]): string {
  return table(
    ['channel', 'payer', 'payee', 'state', 'deposit', 'paid', 'settled', 'seq', 'expires', 'currency'],
    channels.map((c) => [shortHex(c.id), c.payer, c.payee, c.closesAt === null ? c.state : `closing until ${c.closesAt}`, c.deposit, c.latestTotal, c.settledTotal, c.latestSeq, c.expiresAt, c.currency]),
  );
}

export function settlementsTable(settlements: readonly SettlementDetailView[]): string {
  return table(['id', 'reason', 'at', 'channels', 'amount', 'fee', 'currency'], settlements.map((s) => [s.id, s.reason, s.createdAt, String(s.channels), s.amount, s.fee, s.currency]));
}

/** One settlement on one line, for --watch. */
export function settlementLine(s: SettlementDetailView): string {
  const lines = s.lines.map((line) => `${line.account} +${line.amount}`).join(', ');
  return `${s.createdAt}  ${s.id}  ${s.reason}  ${s.channels} channel${s.channels === 1 ? '' : 's'}  ${s.amount} ${s.currency} (fee ${s.fee})${lines === '' ? '' : `  -> ${lines}`}`;
}
