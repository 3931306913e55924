// A read-only view of the agent's local state: what `agent.channels()` returns and what
// `mqpay agent status` prints. It needs no broker: it is what this device knows and has signed.
import { formatAmount } from '../shared/amount.js';
import { toHex } from '../shared/hex.js';
import type { StateDb } from './store/open-state.js';
import { listPayeeChannels } from './store/payee-channels.js';
import { listPayerChannels } from './store/payer-channels.js';
import { countPendingReceipts } from './store/receipts-out.js';
import { countPendingVouchers, listPendingVouchers } from './store/signed-vouchers.js';
import { STATUS_PENDING_LISTED_MAX } from './limits.js';
import { getMeta, LEDGER_CURRENCY_META } from './home/service-key-trust.js';

export interface PayingChannelView {
  readonly channel: string;
  readonly payee: string;
  readonly state: string;
  readonly deposit: string;
  readonly signedSeq: string;
  readonly signedTotal: string;
  readonly acceptedSeq: string;
  readonly acceptedTotal: string;
  readonly receiptSeq: string;
  readonly settled: string;
  readonly expiresAtSeconds: string;
}

export interface PaidChannelView {
  readonly channel: string;
  readonly payer: string;
  readonly state: string;
  readonly certified: boolean;
  readonly deposit: string | null;
  readonly receivedSeq: string;
  readonly receivedTotal: string;
  readonly settled: string;
}

export interface PendingVoucherView {
  readonly channel: string;
  readonly payee: string;
  readonly seq: string;
  readonly total: string;
  readonly amount: string;
  readonly signedAtMs: number;
}

export interface AgentStatus {
  /** The ledger currency as the service's certificates name it; null before the first channel. */
  readonly currency: string | null;
  readonly paying: readonly PayingChannelView[];
  readonly paid: readonly PaidChannelView[];
  readonly pendingVouchers: number;
  readonly pending: readonly PendingVoucherView[];
  readonly pendingReceipts: number;
}

export function readAgentStatus(db: StateDb): AgentStatus {
  const paying = listPayerChannels(db).map((c): PayingChannelView => ({
    channel: toHex(c.id), payee: c.payee, state: c.state, deposit: formatAmount(c.deposit), signedSeq: c.signedSeq.toString(),
    signedTotal: formatAmount(c.signedTotal), acceptedSeq: c.acceptedSeq.toString(), acceptedTotal: formatAmount(c.acceptedTotal),
    receiptSeq: c.receiptSeq.toString(), settled: formatAmount(c.settledTotal), expiresAtSeconds: c.expiresAtSeconds.toString(),
  }));
  const paid = listPayeeChannels(db).map((c): PaidChannelView => ({
    channel: toHex(c.id), payer: c.payer, state: c.state, certified: c.payerKey !== null, deposit: c.deposit === null ? null : formatAmount(c.deposit),
    receivedSeq: c.receivedSeq.toString(), receivedTotal: formatAmount(c.receivedTotal), settled: formatAmount(c.settledTotal),
  }));
  const pendingRows = listPendingVouchers(db, STATUS_PENDING_LISTED_MAX);
  const pending = pendingRows.map((v): PendingVoucherView => ({
    channel: toHex(v.channel), payee: v.payee, seq: v.seq.toString(), total: formatAmount(v.total), amount: formatAmount(v.amount), signedAtMs: v.signedAtMs,
  }));
  const pendingVouchers = countPendingVouchers(db);
  return { currency: getMeta(db, LEDGER_CURRENCY_META), paying, paid, pendingVouchers, pending, pendingReceipts: countPendingReceipts(db) };
}
