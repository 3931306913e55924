// channel.redeem: a payee submits a payer-signed voucher it holds (one it accepted offline, or a
// forward the service's latest may have missed). It is judged by the rules of a payer's own
// voucher (the payer's signature, seq and total increasing, within the deposit) and kept as the
// channel's latest when higher, with its bytes, signature and certificate revision
// [docs/DESIGN.md rule 11]. Inside a dispute window it still counts: the window exists for it.
import { MqpayError } from '../../../shared/errors.js';
import { fromHex } from '../../../shared/hex.js';
import { verify } from '../../../shared/crypto.js';
import { SIGNATURE_BYTES } from '../../../shared/limits.js';
import type { RpcParams, RpcResultInput } from '../../../shared/schemas.js';
import { judgeRedemption } from '../../../shared/voucher-rules.js';
import { decodeVoucher, VOUCHER_BYTES, type Voucher } from '../../../shared/voucher.js';
import { subAmount, type Amount } from '../../../shared/amount.js';
import { reportHeal } from './channel-restore.js';
import type { ChannelRow } from '../../store/port.js';
import { channelView } from './channel-view.js';
import type { RpcContext } from './context.js';
import { signedByRetiredKey } from '../retired-keys.js';

type RedeemParams = RpcParams<'channel.redeem'>;

/** Refused for double-signing: the handler records the evidence in its own unit of work (this one rolls back). */
export class DoubleSignedRedemption extends MqpayError {
  constructor(readonly row: ChannelRow, readonly voucher: Voucher, readonly bytes: Uint8Array, readonly signature: Uint8Array, readonly acceptedTotal: Amount) {
    super('VOUCHER_DOUBLE_SIGNED', `seq ${voucher.seq} was accepted with another total`);
  }
}

export async function redeemVoucher(ctx: RpcContext, device: string, params: RedeemParams): Promise<RpcResultInput<'channel.redeem'>> {
  const { tx } = ctx.work;
  const bytes = fromHex(params.voucher, VOUCHER_BYTES);
  const signature = fromHex(params.signature, SIGNATURE_BYTES);
  const voucher = decodeVoucher(bytes);
  const row = await tx.channel(voucher.channelId);
  if (row === null) throw new MqpayError('CHANNEL_UNKNOWN');
  if (row.payee !== device) throw new MqpayError('CHANNEL_NOT_PAYEE');
  const payer = await tx.device(row.payer);
  if (payer === null) throw new Error('channel parties must exist');
  if (!verify(signature, bytes, payer.publicKey)) {
    // A voucher signed with the payer's retired key is refused too: the key may be in other hands.
    if (await signedByRetiredKey(tx, row.payer, signature, bytes)) throw new MqpayError('KEY_ROTATED', 'signed with a key the payer has rotated away from');
    throw new MqpayError('SIGNATURE_INVALID', 'not signed by the channel\'s payer');
  }
  const verdict = judgeRedemption(row, voucher);
  switch (verdict.kind) {
    case 'reject':
      throw new MqpayError(verdict.code);
    case 'repeat-latest':
      return { channel: channelView(row) };
    case 'double-signed':
      throw new DoubleSignedRedemption(row, voucher, bytes, signature, row.latestTotal);
    case 'older': {
      // The service already holds a later voucher: the same one at this seq is a harmless repeat.
      const earlier = await tx.voucherAt(voucher.channelId, voucher.seq);
      if (earlier === null) throw new MqpayError('VOUCHER_SEQ_NOT_INCREASING', `latest seq is ${row.latestSeq}`);
      if (earlier.total !== voucher.total) throw new DoubleSignedRedemption(row, voucher, bytes, signature, earlier.total);
      return { channel: channelView(row) };
    }
    case 'advance':
      break;
  }
  await tx.appendVoucher({ channel: row.num, seq: voucher.seq, total: voucher.total, voucher: bytes, signature, redeeming: true, nowMs: ctx.deps.clock.nowMs() });
  ctx.work.afterCommit(() => {
    // The voucher hot path judges the payer's next voucher against this one; a payer voucher
    // still in a batch with a higher seq keeps its place.
    const cached = ctx.cache.peek(voucher.channelId);
    if (cached !== null && cached.latestSeq < voucher.seq) {
      ctx.cache.update(voucher.channelId, { latestSeq: voucher.seq, latestTotal: voucher.total, latestSignature: signature, latestVoucher: bytes });
    }
  });
  const updated = await tx.channel(voucher.channelId);
  if (updated === null) throw new Error('channel vanished inside its own transaction');
  // After a restore from a backup, what a payee hands back is healing (counted, reported).
  await reportHeal(ctx, device, updated, false, subAmount(voucher.total, row.latestTotal));
  return { channel: channelView(updated) };
}
