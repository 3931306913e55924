// Attacks a rogue payer makes on its own channel to an honest seller: a voucher under a
// forged signature, a voucher above the escrowed deposit, a second total signed for a seq the
// service already accepted (double-signing), and an old voucher replayed.
import { addAmount, amountOf } from '../../shared/amount.js';
import { generateKeyPair } from '../../shared/keys.js';
import { factsKey } from '../world/ledger-reader.js';
import { ATTACK_ANSWER_MS, expectVoucherRefused, skipped, type Attack } from './attack.js';

/** A voucher for more than was paid, signed with a key that is not the payer's. */
export const forgedSignature: Attack = async (ctx) => {
  const { rogue } = ctx;
  if (rogue.channel === null) return skipped('no channel');
  const impostorKey = generateKeyPair(ctx.random).secretKey;
  const seq = rogue.latestSeq + 1n;
  const message = rogue.signVoucher({ channelId: rogue.channel.id, seq, total: addAmount(rogue.latestTotal, amountOf(250_000n)) }, impostorKey);
  return expectVoucherRefused(ctx, { message, channel: rogue.channel.id, seq, code: 'SIGNATURE_INVALID' });
};

/** A correctly signed voucher for one micro-unit more than the deposit. */
export const aboveDeposit: Attack = async (ctx) => {
  const { rogue } = ctx;
  if (rogue.channel === null) return skipped('no channel');
  const seq = rogue.latestSeq + 1n;
  const message = rogue.signVoucher({ channelId: rogue.channel.id, seq, total: addAmount(rogue.channel.deposit, amountOf(1n)) });
  return expectVoucherRefused(ctx, { message, channel: rogue.channel.id, seq, code: 'VOUCHER_ABOVE_DEPOSIT' });
};

/** A second, higher total signed for the seq the service already accepted; must leave evidence. */
export const doubleSigned: Attack = async (ctx) => {
  const { rogue } = ctx;
  if (rogue.channel === null || rogue.latestSeq === 0n) return skipped('no accepted voucher yet');
  const seq = rogue.latestSeq;
  const total = addAmount(rogue.latestTotal, amountOf(1n));
  const message = rogue.signVoucher({ channelId: rogue.channel.id, seq, total });
  const result = await expectVoucherRefused(ctx, { message, channel: rogue.channel.id, seq, code: 'VOUCHER_DOUBLE_SIGNED' });
  if (result.status !== 'rejected' || (await ctx.ledger.hasDoubleSignEvidence(rogue.channel.id, seq, total))) return result;
  return { ...result, status: 'succeeded', observed: `${result.observed}; no double-sign evidence recorded` };
};

/**
 * An earlier voucher sent again, hoping to be counted twice. The service answers a re-send with
 * the original verdict ("accepted", same seq and total) and must not move the channel.
 */
export const replayedOldVoucher: Attack = async (ctx) => {
  const { rogue } = ctx;
  const seq = rogue.latestSeq - 1n;
  const old = rogue.sent.get(seq);
  if (rogue.channel === null || old === undefined) return skipped('no earlier voucher kept');
  const expected = 'duplicate: same answer, channel unchanged';
  const before = factsKey(await ctx.ledger.channel(rogue.channel.id));
  const verdict = await rogue.verdict(old, rogue.channel.id, seq, ATTACK_ANSWER_MS);
  const after = factsKey(await ctx.ledger.channel(rogue.channel.id));
  const observed = `${verdict === null ? 'no answer' : verdict.type === 'voucher.accepted' ? `accepted again (total ${verdict.total})` : `rejected ${verdict.code}`}; ledger ${before === after ? 'unchanged' : 'changed'}`;
  if (verdict === null) return { status: 'unanswered', expected, observed };
  const harmless = verdict.type === 'voucher.accepted' || verdict.code === 'VOUCHER_SEQ_NOT_INCREASING';
  return { status: harmless && before === after ? 'rejected' : 'succeeded', expected, observed };
};
