// What a payee holds of a channel to redeem: the payer-signed voucher it received last, or the
// hash chain it was paid by (the signed checkpoint and the highest link it checked), whichever
// pays more (the later seq, then the higher total). Each knows its own redeem request.
import type { Amount } from '../../shared/amount.js';
import { checkpointTotalAt, decodeCheckpoint } from '../../shared/checkpoint.js';
import { toHex } from '../../shared/hex.js';
import type { RpcResult } from '../../shared/schemas.js';
import type { DeviceLink } from '../link/link.js';
import { getPayeeChain } from '../store/chains.js';
import type { StateDb } from '../store/open-state.js';
import { heldVoucher } from '../store/payee-channels.js';

export interface HeldEvidence {
  /** A hash chain (else a voucher). */
  readonly chain: boolean;
  readonly seq: bigint;
  readonly total: Amount;
  redeem(link: DeviceLink): Promise<RpcResult<'channel.redeem'>>;
}

/**
 * Whether `held` pays more than `other` (the service's latest, or the payee's voucher): a later
 * seq; for a chain, also a higher total at the same seq (the service may lack its last ticks). A
 * voucher at the same seq with another total is not submitted: that is the payer's double-sign,
 * not a better payment.
 */
export function isAboveService(held: HeldEvidence, other: { readonly seq: bigint; readonly total: Amount }): boolean {
  return held.seq > other.seq || (held.chain && held.seq === other.seq && held.total > other.total);
}

export function heldEvidence(db: StateDb, id: Uint8Array): HeldEvidence | null {
  const voucher = heldVoucher(db, id);
  const row = getPayeeChain(db, id);
  const fromVoucher: HeldEvidence | null = voucher && {
    chain: false, seq: voucher.seq, total: voucher.total,
    redeem: (link) => link.call('channel.redeem', { voucher: toHex(voucher.voucher), signature: toHex(voucher.signature) }),
  };
  if (row === null) return fromVoucher;
  const checkpoint = decodeCheckpoint(row.checkpoint);
  const chain: HeldEvidence = {
    chain: true, seq: checkpoint.seq, total: checkpointTotalAt(checkpoint, row.highestIndex),
    redeem: (link) => link.call('channel.redeemChain', { checkpoint: toHex(row.checkpoint), signature: toHex(row.signature), index: row.highestIndex, link: toHex(row.highestLink) }),
  };
  return fromVoucher === null || isAboveService(chain, fromVoucher) ? chain : fromVoucher;
}
