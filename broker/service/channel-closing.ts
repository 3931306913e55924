// Closing a channel, for any reason (the payer or payee asked, it expired, an operator forced
// it): settle what the latest voucher owes, refund the rest of the escrow to the payer, mark it
// closed. Runs inside the caller's transaction; effects are published after commit.
import { formatAmount, subAmount, type Amount } from '../../shared/amount.js';
import { toHex } from '../../shared/hex.js';
import type { Notice } from '../../shared/schemas.js';
import { inboxTopic } from '../../shared/topics.js';
import { getChannel, markChannelClosed, type ChannelRow } from '../store/channels.js';
import { escrowAccount, insertTransfer, walletAccount } from '../store/ledger.js';
import { settleInTransaction, type SettlementResult } from '../store/settle.js';
import { payloadOf } from './replies.js';
import { newContext, type ContextSource, type Effect, type RpcContext } from './rpc/context.js';
import { settlementEffects } from './settlement-notices.js';

export interface CloseResult {
  readonly channel: ChannelRow;
  readonly settlement: SettlementResult | null;
  readonly settled: Amount;
  readonly refunded: Amount;
}

/** The caller has committed pending vouchers before its transaction began (ContextSource). */
export function closeInTransaction(ctx: RpcContext, row: ChannelRow, reason: 'close' | 'expiry'): CloseResult {
  const { db, clock, options } = ctx.deps;
  const nowMs = clock.nowMs();
  const startedMs = performance.now();
  const hex = toHex(row.id);
  const settlement = settleInTransaction(db, { id: `${reason}-${hex}`, reason, nowMs, feePpm: options.feePpm, only: row.num });
  // Settlement brings settled up to the latest total, which the caller's flush made current.
  const settledTotal = getChannel(db, row.id)?.settledTotal ?? row.settledTotal;
  const refunded = subAmount(row.deposit, settledTotal);
  if (refunded > 0n) insertTransfer(db, { id: `refund:${hex}`, from: escrowAccount(row.id), to: walletAccount(row.payer), amount: refunded, kind: 'refund', channel: row.num, nowMs });
  markChannelClosed(db, row.num, nowMs);
  const closed = getChannel(db, row.id);
  if (closed === null) throw new Error('channel vanished inside its own transaction');

  if (settlement !== null) ctx.effects.push(...settlementEffects(settlement, [{ channel: row.id, payer: row.payer, payee: row.payee, amount: settlement.amount, fee: settlement.fee, settledTotal }]));
  const notice: Notice = { v: 2, type: 'channel.closed', channel: hex, settled: formatAmount(settledTotal), refunded: formatAmount(refunded) };
  const payload = payloadOf(notice);
  ctx.effects.push({ topic: inboxTopic(row.payer, 'notice'), payload }, { topic: inboxTopic(row.payee, 'notice'), payload });
  const durationMs = performance.now() - startedMs;
  ctx.afterCommit.push(() => {
    ctx.cache.update(row.id, { state: 'closed', settledTotal });
    if (settlement !== null) ctx.onSettled(settlement, durationMs);
  });
  return { channel: closed, settlement, settled: settledTotal, refunded };
}

/** Closes a channel in its own transaction (expiry, operator force-close) and publishes the notices. */
export function closeNow(source: ContextSource, publishEffects: (effects: readonly Effect[]) => Promise<void>, row: ChannelRow, reason: 'close' | 'expiry'): CloseResult {
  const ctx = newContext(source);
  source.flushVouchers();
  const closed = source.deps.db.transaction(() => closeInTransaction(ctx, row, reason)).immediate();
  for (const apply of ctx.afterCommit) apply();
  publishEffects(ctx.effects).catch((error: unknown) => source.deps.logger.warn({ err: error, reason }, 'close notices not delivered'));
  return closed;
}
