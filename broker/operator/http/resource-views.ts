// Store rows to the JSON views of view-schemas.ts. Shared by the HTTP API and the CLI's
// --data mode, so `mqpay wallets --json` prints the same thing either way.
import type * as z from 'zod';
import { amountOf, formatAmount, type Amount } from '../../../shared/amount.js';
import type { AuditCheck } from '../../store/sqlite/audit.js';
import type { ChannelRow } from '../../store/port.js';
import type { DeviceWithBalance, KindTotal, WalletRow } from '../../store/sqlite/operator-reads.js';
import { AccountKind } from '../../store/accounts.js';
import type { SettlementRow } from '../../store/sqlite/settle.js';
import { toHex } from '../../../shared/hex.js';
import type { auditView, channelView, deviceView, ledgerView, settlementDetailView, settlementView, walletView } from './view-schemas.js';

const iso = (ms: number): string => new Date(ms).toISOString();

export type DeviceView = z.input<typeof deviceView>;
export type WalletView = z.input<typeof walletView>;
export type ChannelView = z.input<typeof channelView>;
export type SettlementView = z.input<typeof settlementView>;
export type SettlementDetailView = z.input<typeof settlementDetailView>;
export type LedgerView = z.input<typeof ledgerView>;
export type AuditView = z.input<typeof auditView>;

export function viewDevice(row: DeviceWithBalance, online: ReadonlySet<string>, currency: string): DeviceView {
  return { id: row.id, publicKey: toHex(row.publicKey), status: row.status, online: online.has(row.id), balance: formatAmount(row.balance), currency, createdAt: iso(row.createdAtMs) };
}

export function viewWallet(row: WalletRow, currency: string): WalletView {
  return { device: row.device, balance: formatAmount(row.balance), currency };
}

export function viewChannel(row: ChannelRow, currency: string): ChannelView {
  return {
    id: toHex(row.id), payer: row.payer, payee: row.payee, state: row.state,
    deposit: formatAmount(row.deposit), latestSeq: row.latestSeq.toString(), latestTotal: formatAmount(row.latestTotal),
    settledTotal: formatAmount(row.settledTotal), unsettled: formatAmount(amountOf(row.latestTotal - row.settledTotal)), currency,
    revision: row.revision, openedAt: iso(row.openedAtMs), expiresAt: iso(Number(row.expiresAtSeconds) * 1000),
    closedAt: row.closedAtMs === null ? null : iso(row.closedAtMs),
    closesAt: row.state === 'closing' && row.closingDeadlineMs !== null ? iso(row.closingDeadlineMs) : null,
    closeRequestedBy: row.closeRequestedBy,
    doubleSigns: row.doubleSigns,
  };
}

export function viewSettlement(row: SettlementRow, currency: string): SettlementView {
  return { id: row.id, reason: row.reason, channels: row.channels, amount: formatAmount(row.amount), fee: formatAmount(row.fee), currency, createdAt: iso(row.createdAtMs), createdAtMs: row.createdAtMs };
}

export function viewSettlementDetail(row: SettlementRow, lines: readonly { account: string; amount: Amount }[], currency: string): SettlementDetailView {
  return { ...viewSettlement(row, currency), lines: lines.map((line) => ({ account: line.account, amount: formatAmount(line.amount) })) };
}

/** `flows`: money in (fund transfers) and out (payout transfers) of the ledger, all time. */
export function viewLedger(totals: Record<AccountKind, KindTotal>, flows: { funded: bigint; paidOut: bigint }, currency: string): LedgerView {
  const held = totals.wallet.balance + totals.escrow.balance + totals.fees.balance;
  return {
    currency,
    funded: formatAmount(amountOf(flows.funded)),
    paidOut: formatAmount(amountOf(flows.paidOut)),
    wallets: { accounts: totals.wallet.accounts, balance: formatAmount(amountOf(totals.wallet.balance)) },
    escrow: { accounts: totals.escrow.accounts, balance: formatAmount(amountOf(totals.escrow.balance)) },
    fees: formatAmount(amountOf(totals.fees.balance)),
    balanced: held === flows.funded - flows.paidOut && held === -totals.external.balance,
  };
}

export function viewAudit(checks: readonly AuditCheck[]): AuditView {
  return { ok: checks.every((check) => check.ok), checks: checks.map((check) => ({ name: check.name, ok: check.ok, detail: check.detail })) };
}
