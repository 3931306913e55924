// Closing a channel. A close by the payer, an operator or an expiry does not settle at once: it
// opens a dispute window [docs/DESIGN.md rule 11] (`beginClosing`): the channel is 'closing'
// until a deadline kept in the database, the payee is told, and any higher payer-signed voucher
// the payee redeems before the deadline counts. At the deadline the scheduler's tick settles
// (`closeInTransaction`): what the latest voucher owes goes to the payee, the rest of the escrow
// is refunded to the payer, and the channel is closed. A payee's own close, and an operator's
// explicit immediate close, settle at once. Both run inside the caller's unit of work; notices
// go out after commit.
import { formatAmount, subAmount, type Amount } from '../../../shared/amount.js';
import { assert } from '../../../shared/errors.js';
import { toHex } from '../../../shared/hex.js';
import type { Notice } from '../../../shared/schemas.js';
import { inboxTopic } from '../../../shared/topics.js';
import { escrowAccount, walletAccount } from '../../store/accounts.js';
import type { ChannelRow, CloseRequester, SettlementResult } from '../../store/port.js';
import { payloadOf } from '../replies.js';
import type { RpcContext } from '../rpc/context.js';
import { settlementEffects } from './notices.js';
import { PROTOCOL_VERSION } from '../../../shared/schemas.js';

export interface CloseResult {
  readonly channel: ChannelRow;
  readonly settlement: SettlementResult | null;
  /** null while the channel is closing: nothing is settled before the deadline. */
  readonly settled: Amount | null;
  readonly refunded: Amount | null;
}

/** Who may open a dispute window (a payee's close never needs one: it only gives up its own claim). */
export type WindowRequester = 'payer' | 'operator' | 'expiry';

/**
 * Opens the dispute window of an open channel; with a window of 0 seconds it closes at once.
 * The deadline is stored with the channel, so a restart keeps it.
 */
export async function beginClosing(ctx: RpcContext, row: ChannelRow, by: WindowRequester): Promise<CloseResult> {
  assert(row.state === 'open', 'only an open channel enters a dispute window');
  const windowSeconds = ctx.deps.options.closeWindowSeconds;
  if (windowSeconds === 0) return closeInTransaction(ctx, row, by === 'expiry' ? 'expiry' : 'close', by);
  const nowMs = ctx.deps.clock.nowMs();
  const deadlineMs = nowMs + windowSeconds * 1000;
  await ctx.work.tx.markChannelClosing(row.num, by, nowMs, deadlineMs);
  const closing = await ctx.work.tx.channel(row.id);
  if (closing === null) throw new Error('channel vanished inside its own transaction');
  const notice: Notice = { v: PROTOCOL_VERSION, type: 'channel.closing', channel: toHex(row.id), closesAtMs: deadlineMs, by };
  const payload = payloadOf(notice);
  // The payee is the one who must act (redeem); the payer learns its vouchers are now refused.
  ctx.work.publish({ topic: inboxTopic(row.payee, 'notice'), payload });
  ctx.work.publish({ topic: inboxTopic(row.payer, 'notice'), payload });
  ctx.work.afterCommit(() => ctx.cache.update(row.id, { state: 'closing' }));
  return { channel: closing, settlement: null, settled: null, refunded: null };
}

/** Settles and closes now. The unit of work committed the vouchers queued before it began, so the row's latest is current. */
export async function closeInTransaction(ctx: RpcContext, row: ChannelRow, reason: 'close' | 'expiry', by: CloseRequester): Promise<CloseResult & { settled: Amount; refunded: Amount }> {
  const { tx } = ctx.work;
  const { clock, options } = ctx.deps;
  const nowMs = clock.nowMs();
  const startedMs = performance.now();
  const hex = toHex(row.id);
  const outcome = await tx.settle({ id: `${reason}-${hex}`, reason, nowMs, feePpm: options.feePpm, only: row.num });
  // A channel closes once: its close settlement id cannot have been used before.
  if (outcome.kind === 'already') throw new Error(`assertion failed: close settlement ${reason}-${hex} already recorded`);
  const settlement = outcome.kind === 'settled' ? outcome.result : null;
  const current = await tx.channel(row.id);
  if (current === null) throw new Error('channel vanished inside its own transaction');
  const settledTotal = current.settledTotal;
  const refunded = subAmount(current.deposit, settledTotal);
  if (refunded > 0n) await tx.insertTransfer({ id: `refund:${hex}`, from: escrowAccount(row.id), to: walletAccount(row.payer), amount: refunded, kind: 'refund', channel: row.num, nowMs });
  await tx.markChannelClosed(row.num, by, nowMs);
  const closed = await tx.channel(row.id);
  if (closed === null) throw new Error('channel vanished inside its own transaction');

  if (settlement !== null) {
    for (const effect of settlementEffects(settlement, [{ channel: row.id, payer: row.payer, payee: row.payee, amount: settlement.amount, fee: settlement.fee, settledTotal }])) ctx.work.publish(effect);
  }
  const notice: Notice = { v: PROTOCOL_VERSION, type: 'channel.closed', channel: hex, settled: formatAmount(settledTotal), refunded: formatAmount(refunded) };
  const payload = payloadOf(notice);
  ctx.work.publish({ topic: inboxTopic(row.payer, 'notice'), payload });
  ctx.work.publish({ topic: inboxTopic(row.payee, 'notice'), payload });
  const durationMs = performance.now() - startedMs;
  ctx.work.afterCommit(() => {
    ctx.cache.update(row.id, { state: 'closed', settledTotal });
    if (settlement !== null) ctx.telemetry.emit({ kind: 'settlement', result: settlement, durationMs });
  });
  return { channel: closed, settlement, settled: settledTotal, refunded };
}

/** The settlement reason of a window that ended: an expiry's is 'expiry', every other 'close'. */
export function reasonOfWindow(row: ChannelRow): 'close' | 'expiry' {
  return row.closeRequestedBy === 'expiry' ? 'expiry' : 'close';
}
