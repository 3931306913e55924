// channel.redeemChain (v3.1): a payee submits a hash chain it holds, the payer-signed checkpoint
// and the highest link it checked, when the payer is gone and the service's latest is lower (a
// chain handed over offline, or ticks the service lost to a restore from a backup). The link was
// proved before this unit of work (chain-proof.ts); here the checkpoint is judged as a redeemed
// voucher is [docs/DESIGN.md rule 11]: the payer's signature under its current key, seq and
// total increasing, within the deposit, counted while the channel is closing, with neither
// expiry nor the payer's spending limits in the way. The chain's total at the link becomes the
// channel's latest, so settlement pays checkpoint + index x price.
import { subAmount } from '../../../shared/amount.js';
import { checkpointTotalAt, CHECKPOINT_BYTES, decodeCheckpoint, type Checkpoint } from '../../../shared/checkpoint.js';
import { verify } from '../../../shared/crypto.js';
import { MqpayError } from '../../../shared/errors.js';
import { bytesEqual, fromHex } from '../../../shared/hex.js';
import { HASH_CHAIN_LINK_BYTES, SIGNATURE_BYTES } from '../../../shared/limits.js';
import type { RpcParams, RpcResultInput } from '../../../shared/schemas.js';
import { chainStateOf } from '../../../shared/tick-rules.js';
import type { ChannelRow, DeviceRow, StoreTx } from '../../store/port.js';
import { signedByRetiredKey } from '../retired-keys.js';
import { reportHeal } from './channel-restore.js';
import { channelView } from './channel-view.js';
import type { RpcContext } from './context.js';

type RedeemChainParams = RpcParams<'channel.redeemChain'>;

interface Redeemed {
  readonly checkpoint: Checkpoint;
  readonly bytes: Uint8Array;
  readonly signature: Uint8Array;
  readonly index: number;
  readonly link: Uint8Array;
}

export async function redeemChain(ctx: RpcContext, device: string, params: RedeemChainParams): Promise<RpcResultInput<'channel.redeemChain'>> {
  const { tx } = ctx.work;
  const bytes = fromHex(params.checkpoint, CHECKPOINT_BYTES);
  const redeemed: Redeemed = { checkpoint: decodeCheckpoint(bytes), bytes, signature: fromHex(params.signature, SIGNATURE_BYTES), index: params.index, link: fromHex(params.link, HASH_CHAIN_LINK_BYTES) };
  const { checkpoint } = redeemed;
  const row = await tx.channel(checkpoint.channelId);
  if (row === null) throw new MqpayError('CHANNEL_UNKNOWN');
  if (row.payee !== device) throw new MqpayError('CHANNEL_NOT_PAYEE');
  const payer = await tx.device(row.payer);
  if (payer === null) throw new Error('channel parties must exist');
  await checkSignedByPayer(tx, row, payer, redeemed);
  if (row.state === 'closed') throw new MqpayError('CHANNEL_CLOSED');
  const total = checkpointTotalAt(checkpoint, redeemed.index);
  if (total > row.deposit) throw new MqpayError('TICK_ABOVE_DEPOSIT', `index ${redeemed.index}`);
  const changed = await (checkpoint.seq === row.latestSeq ? raiseHeldChain(tx, row, redeemed) : startRedeemedChain(ctx, row, redeemed));
  if (!changed) return { channel: channelView(row) };
  afterRedemption(ctx, redeemed, payer.publicKey);
  const updated = await tx.channel(checkpoint.channelId);
  if (updated === null) throw new Error('channel vanished inside its own transaction');
  // After a restore from a backup, what a payee hands back is healing (counted, reported).
  await reportHeal(ctx, device, updated, false, subAmount(total, row.latestTotal));
  return { channel: channelView(updated) };
}

async function checkSignedByPayer(tx: StoreTx, row: ChannelRow, payer: DeviceRow, redeemed: Redeemed): Promise<void> {
  if (verify(redeemed.signature, redeemed.bytes, payer.publicKey)) return;
  // A checkpoint signed with the payer's retired key is refused too: the key may be in other hands.
  if (await signedByRetiredKey(tx, row.payer, redeemed.signature, redeemed.bytes)) throw new MqpayError('KEY_ROTATED', 'signed with a key the payer has rotated away from');
  throw new MqpayError('SIGNATURE_INVALID', 'not signed by the channel\'s payer');
}

/** The checkpoint is the channel's latest: its chain moves up to the link; false when the service already holds as much. */
async function raiseHeldChain(tx: StoreTx, row: ChannelRow, redeemed: Redeemed): Promise<boolean> {
  const held = await tx.chainOf(redeemed.checkpoint.channelId);
  // The latest seq is a voucher, or another checkpoint: the payer signed two objects for one seq.
  if (held === null || !bytesEqual(held.checkpoint, redeemed.bytes)) throw new MqpayError('VOUCHER_DOUBLE_SIGNED', `seq ${row.latestSeq} is held with another signed object`);
  if (redeemed.index <= held.highestIndex) return false;
  await tx.appendTick({ channel: row.num, seq: row.latestSeq, index: redeemed.index, link: redeemed.link, total: checkpointTotalAt(redeemed.checkpoint, redeemed.index), redeeming: true });
  return true;
}

/** A checkpoint the service never held: the seq and total rules of a redeemed voucher, then its chain up to the link. */
async function startRedeemedChain(ctx: RpcContext, row: ChannelRow, redeemed: Redeemed): Promise<boolean> {
  const { checkpoint, index } = redeemed;
  if (checkpoint.seq < row.latestSeq) throw new MqpayError('VOUCHER_SEQ_NOT_INCREASING', `latest seq is ${row.latestSeq}`);
  if (checkpoint.total < row.latestTotal || checkpointTotalAt(checkpoint, index) <= row.latestTotal) {
    throw new MqpayError('VOUCHER_TOTAL_NOT_INCREASING', `latest total is ${row.latestTotal} micro-units`);
  }
  const { tx } = ctx.work;
  await tx.appendCheckpoint({
    channel: row.num, seq: checkpoint.seq, total: checkpoint.total, checkpoint: redeemed.bytes, signature: redeemed.signature,
    root: checkpoint.chainRoot, chainLength: checkpoint.chainLength, pricePerTick: checkpoint.pricePerTick, nowMs: ctx.deps.clock.nowMs(), redeeming: true,
  });
  if (index > 0) await tx.appendTick({ channel: row.num, seq: checkpoint.seq, index, link: redeemed.link, total: checkpointTotalAt(checkpoint, index), redeeming: true });
  return true;
}

/** Once committed, the tick path judges the payer's next frame against the redeemed chain, unless it already holds more. */
function afterRedemption(ctx: RpcContext, redeemed: Redeemed, payerKey: Uint8Array): void {
  const { checkpoint, index } = redeemed;
  ctx.work.afterCommit(() => {
    const cached = ctx.cache.peek(checkpoint.channelId);
    if (cached === null || cached.latestSeq > checkpoint.seq) return;
    const chain = cached.chain;
    if (cached.latestSeq === checkpoint.seq && chain !== undefined && chain !== null && chain.checkpoint.seq === checkpoint.seq && chain.highestIndex >= index) return;
    const total = checkpointTotalAt(checkpoint, index);
    ctx.cache.update(checkpoint.channelId, { latestSeq: checkpoint.seq, latestTotal: total, latestSignature: redeemed.signature, latestVoucher: null });
    cached.chain = { ...chainStateOf(checkpoint), highestIndex: index, highestLink: redeemed.link, bytes: redeemed.bytes, signature: redeemed.signature, signerKey: payerKey };
  });
}
