// Attacks on other people's money: replaying a voucher an honest buyer paid the rogue with (as
// if the rogue were the payer, to be paid twice), signing a voucher on that buyer's channel
// with the rogue's own key (to draw on the buyer's escrow), and opening a channel with a
// deposit far above the rogue's wallet.
import { addAmount, amountOf, formatAmount } from '../../shared/amount.js';
import { MqpayError } from '../../shared/errors.js';
import { fromHex, toHex } from '../../shared/hex.js';
import { newChannelId } from '../../shared/ids.js';
import { decodeVoucher } from '../../shared/voucher.js';
import type { VoucherMessage } from '../actors/rogue-device.js';
import { ATTACK_ANSWER_MS, skipped, type Attack, type AttackContext, type AttackResult } from './attack.js';

/** Judges a voucher on someone else's channel: refused as not the payer, and nothing stored under that seq by it. */
async function refusedAsNotPayer(ctx: AttackContext, message: VoucherMessage, channel: Uint8Array, seq: bigint, storedBefore: boolean): Promise<AttackResult> {
  const expected = 'CHANNEL_NOT_PAYER';
  const payerBefore = (await ctx.ledger.channel(channel))?.payer ?? 'none';
  const verdict = await ctx.rogue.verdict(message, channel, seq, ATTACK_ANSWER_MS);
  const payerAfter = (await ctx.ledger.channel(channel))?.payer ?? 'none';
  const storedAfter = await ctx.ledger.hasVoucher(channel, seq);
  const observed = `${verdict === null ? 'no answer' : verdict.type === 'voucher.accepted' ? 'accepted' : `rejected ${verdict.code}`}; payer ${payerAfter}`;
  if (verdict === null) return { status: 'unanswered', expected, observed };
  const refused = verdict.type === 'voucher.rejected' && verdict.code === expected;
  const untouched = payerBefore === payerAfter && payerAfter !== ctx.rogue.plan.id && storedAfter === storedBefore;
  return { status: refused && untouched ? 'rejected' : 'succeeded', expected, observed };
}

/** The exact voucher an honest buyer paid the rogue with, published from the rogue's outbox. */
export const replayedVoucher: Attack = async (ctx) => {
  const paid = ctx.rogue.forwarded;
  if (paid === null) return skipped('not paid by anyone yet');
  const voucher = decodeVoucher(fromHex(paid.voucher));
  return refusedAsNotPayer(ctx, paid, voucher.channelId, voucher.seq, await ctx.ledger.hasVoucher(voucher.channelId, voucher.seq));
};

/** A voucher on the buyer's channel for a much higher total, signed with the rogue's key. */
export const forgedChannel: Attack = async (ctx) => {
  const paid = ctx.rogue.forwarded;
  if (paid === null) return skipped('not paid by anyone yet');
  const voucher = decodeVoucher(fromHex(paid.voucher));
  const seq = voucher.seq + 1_000_000n;
  const message = ctx.rogue.signVoucher({ channelId: voucher.channelId, seq, total: addAmount(voucher.total, amountOf(1_000_000n)) });
  return refusedAsNotPayer(ctx, message, voucher.channelId, seq, false);
};

/** A channel whose deposit is a thousand times what the rogue was ever funded with. */
export const overdraftOpen: Attack = async (ctx) => {
  const { rogue } = ctx;
  const expected = 'INSUFFICIENT_FUNDS';
  const id = newChannelId(ctx.random);
  const deposit = formatAmount(amountOf(rogue.plan.funding * 1_000n));
  let observed: string;
  let refused = false;
  try {
    await rogue.link.request('channel.open', { channel: toHex(id), payee: rogue.plan.victim, deposit, durationSeconds: 3_600 });
    observed = 'channel opened';
  } catch (error) {
    const code = error instanceof MqpayError ? error.code : 'ERROR';
    if (code === 'TIMEOUT' || code === 'SERVICE_UNAVAILABLE') return { status: 'unanswered', expected, observed: code };
    refused = code === expected;
    observed = `refused ${code}`;
  }
  const exists = (await ctx.ledger.channel(id)) !== null;
  return { status: refused && !exists ? 'rejected' : 'succeeded', expected, observed: `${observed}; channel ${exists ? 'exists' : 'absent'} in the ledger` };
};
