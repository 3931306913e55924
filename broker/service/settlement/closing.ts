// Closing a channel, for any reason (the payer or payee asked, it expired, an operator forced
// it): settle what the latest voucher owes, refund the rest of the escrow to the payer, mark it
// closed. Runs inside the caller's unit of work; notices go out after commit.
import { formatAmount, subAmount, type Amount } from '../../../shared/amount.js';
import { toHex } from '../../../shared/hex.js';
import type { Notice } from '../../../shared/schemas.js';
import { inboxTopic } from '../../../shared/topics.js';
import { escrowAccount, walletAccount } from '../../store/accounts.js';
import type { ChannelRow, SettlementResult } from '../../store/port.js';
import { payloadOf } from '../replies.js';
import type { RpcContext } from '../rpc/context.js';
import { settlementEffects } from './notices.js';

export interface CloseResult {
  readonly channel: ChannelRow;
  readonly settlement: SettlementResult | null;
  readonly settled: Amount;
  readonly refunded: Amount;
}

/** The unit of work committed the vouchers queued before it began, so the row's latest is current. */
export async function closeInTransaction(ctx: RpcContext, row: ChannelRow, reason: 'close' | 'expiry'): Promise<CloseResult> {
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
  await tx.markChannelClosed(row.num, nowMs);
  const closed = await tx.channel(row.id);
  if (closed === null) throw new Error('channel vanished inside its own transaction');

  if (settlement !== null) {
    for (const effect of settlementEffects(settlement, [{ channel: row.id, payer: row.payer, payee: row.payee, amount: settlement.amount, fee: settlement.fee, settledTotal }])) ctx.work.publish(effect);
  }
  const notice: Notice = { v: 2, type: 'channel.closed', channel: hex, settled: formatAmount(settledTotal), refunded: formatAmount(refunded) };
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
