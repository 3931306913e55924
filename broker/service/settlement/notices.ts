// After a settlement commits: a notice to both parties of every settled channel and one message
// on the operator stream `mqpay/v1/ops/settlements`. Amounts as decimal strings.
import { formatAmount } from '../../../shared/amount.js';
import { toHex } from '../../../shared/hex.js';
import type { OpsSettlement } from '../../../shared/ops-events.js';
import type { Notice } from '../../../shared/schemas.js';
import { inboxTopic } from '../../../shared/topics.js';
import type { ChannelSettlement, SettlementResult } from '../../store/port.js';
import { payloadOf } from '../replies.js';
import type { Effect } from '../ports.js';
import { PROTOCOL_VERSION } from '../../../shared/schemas.js';

/**
 * Notices to the parties of a committed settlement; `channels` from settlementChannels() or the
 * closing. The operator summary is not here: it goes out once, from the telemetry event.
 */
export function settlementEffects(result: SettlementResult, channels: readonly ChannelSettlement[]): Effect[] {
  const effects: Effect[] = [];
  for (const channel of channels) {
    const notice: Notice = {
      v: PROTOCOL_VERSION, type: 'settlement', settlement: result.id, channel: toHex(channel.channel),
      amount: formatAmount(channel.amount), fee: formatAmount(channel.fee), settledTotal: formatAmount(channel.settledTotal),
    };
    const payload = payloadOf(notice);
    effects.push({ topic: inboxTopic(channel.payee, 'notice'), payload }, { topic: inboxTopic(channel.payer, 'notice'), payload });
  }
  return effects;
}

export function settlementSummary(result: SettlementResult): OpsSettlement {
  return {
    v: PROTOCOL_VERSION,
    type: 'settlement',
    id: result.id,
    reason: result.reason,
    channels: result.channelCount,
    amount: formatAmount(result.amount),
    fee: formatAmount(result.fee),
    createdAtMs: result.createdAtMs,
    lines: [...result.lines].map(([account, amount]) => ({ account, amount: formatAmount(amount) })),
  };
}
