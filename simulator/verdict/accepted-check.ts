// "Every voucher the service accepted is settled or still pending in an open channel", checked
// channel by channel against what the devices themselves recorded:
//  - what a payer was told "accepted" is at most the channel's latest total in the ledger
//    (so it is settled, or pending = latest - settled);
//  - the ledger's latest total is at most what the payer signed (nothing it did not sign);
//  - what a payee was paid is at most the latest total, on a channel that exists, to it
//    (no payment appeared that the service did not accept);
//  - no channel carries money that no payer knows of.
import { formatAmount, type Amount } from '../../shared/amount.js';
import { toHex } from '../../shared/hex.js';
import { bigintOf, type LedgerQuery } from '../world/ledger-query.js';
import type { CheckResult } from './conservation.js';

export interface PayerView {
  readonly payer: string;
  readonly acceptedTotal: bigint;
  readonly signedTotal: bigint;
}

export interface PayeeView {
  readonly payee: string;
  readonly receivedTotal: bigint;
}

export interface AcceptedTotals {
  readonly accepted: Amount;
  readonly settled: Amount;
  readonly pending: Amount;
}

interface LedgerChannel {
  payer: string;
  payee: string;
  state: string;
  latest: bigint;
  settled: bigint;
}

const PROBLEMS_SHOWN = 5;

async function ledgerChannels(query: LedgerQuery): Promise<Map<string, LedgerChannel>> {
  const rows = await query('SELECT id, payer, payee, state, latest_total, settled_total FROM channels');
  return new Map(rows.map((row) => [
    toHex(new Uint8Array(row.id as Uint8Array)),
    { payer: String(row.payer), payee: String(row.payee), state: String(row.state), latest: bigintOf(row.latest_total), settled: bigintOf(row.settled_total) },
  ]));
}

function payerProblems(channels: ReadonlyMap<string, LedgerChannel>, payers: ReadonlyMap<string, PayerView>): string[] {
  const problems: string[] = [];
  for (const [id, view] of payers) {
    const row = channels.get(id);
    if (row === undefined) {
      if (view.acceptedTotal > 0n) problems.push(`${view.payer} was told ${view.acceptedTotal} accepted on ${id.slice(0, 12)}, which the ledger does not have`);
      continue;
    }
    if (row.payer !== view.payer) problems.push(`channel ${id.slice(0, 12)} belongs to ${row.payer}, not ${view.payer}`);
    if (view.acceptedTotal > row.latest) problems.push(`${view.payer} was told ${view.acceptedTotal} accepted on ${id.slice(0, 12)}, the ledger holds ${row.latest}`);
    if (row.latest > view.signedTotal) problems.push(`ledger holds ${row.latest} on ${id.slice(0, 12)}, ${view.payer} signed only ${view.signedTotal}`);
  }
  for (const [id, row] of channels) {
    if (!payers.has(id) && row.latest > 0n) problems.push(`channel ${id.slice(0, 12)} of ${row.payer} carries ${row.latest} no payer knows of`);
    if (row.state === 'closed' && row.latest !== row.settled) problems.push(`closed channel ${id.slice(0, 12)} has ${row.latest - row.settled} unsettled`);
  }
  return problems;
}

function payeeProblems(channels: ReadonlyMap<string, LedgerChannel>, payees: ReadonlyMap<string, PayeeView>): string[] {
  const problems: string[] = [];
  for (const [id, view] of payees) {
    const row = channels.get(id);
    if (row === undefined || row.payee !== view.payee) problems.push(`${view.payee} holds ${view.receivedTotal} on ${id.slice(0, 12)}, not its channel in the ledger`);
    else if (view.receivedTotal > row.latest) problems.push(`${view.payee} holds ${view.receivedTotal} on ${id.slice(0, 12)}, the ledger accepted ${row.latest}`);
  }
  return problems;
}

export async function checkAcceptedSettledOrPending(query: LedgerQuery, payers: ReadonlyMap<string, PayerView>, payees: ReadonlyMap<string, PayeeView>): Promise<CheckResult & { totals: AcceptedTotals }> {
  const channels = await ledgerChannels(query);
  let accepted = 0n;
  for (const view of payers.values()) accepted += view.acceptedTotal;
  let settled = 0n;
  let pending = 0n;
  for (const row of channels.values()) {
    settled += row.settled;
    pending += row.latest - row.settled;
  }
  const totals = { accepted: accepted as Amount, settled: settled as Amount, pending: pending as Amount };
  const problems = [...payerProblems(channels, payers), ...payeeProblems(channels, payees)];
  if (problems.length > 0) return { ok: false, detail: `${problems.length} problems: ${problems.slice(0, PROBLEMS_SHOWN).join('; ')}`, totals };
  const detail = `${payers.size} paying channels: accepted ${formatAmount(totals.accepted)} <= ledger; settled ${formatAmount(totals.settled)}, pending ${formatAmount(totals.pending)}; ${payees.size} payee views agree`;
  return { ok: true, detail, totals };
}
