// channel.topup: moves more money into the escrow and re-issues the certificate with the
// higher deposit and the next revision, so the payee can accept the larger totals offline.
import { addAmount, subAmount } from '../../../shared/amount.js';
import { MqpayError } from '../../../shared/errors.js';
import { toHex } from '../../../shared/hex.js';
import { channelIdFromHex } from '../../../shared/ids.js';
import type { RpcParams, RpcResultInput } from '../../../shared/schemas.js';
import { secondsOf } from '../../../shared/time.js';
import { escrowAccount, walletAccount } from '../../store/accounts.js';
import { checkEscrow, checkPayee, effectiveLimits } from '../spending/spending-guard.js';
import { issueCertificate } from './certificate-issue.js';
import { channelView } from './channel-view.js';
import type { RpcContext } from './context.js';

type TopupParams = RpcParams<'channel.topup'>;

export async function topupChannel(ctx: RpcContext, device: string, params: TopupParams): Promise<RpcResultInput<'channel.topup'>> {
  const { tx } = ctx.work;
  const id = channelIdFromHex(params.channel);
  const row = await tx.channel(id);
  if (row === null) throw new MqpayError('CHANNEL_UNKNOWN');
  if (row.payer !== device) throw new MqpayError('CHANNEL_NOT_PAYER');
  if (row.state === 'closing') throw new MqpayError('CHANNEL_CLOSING', 'a close is pending: top-ups are refused');
  if (row.state !== 'open') throw new MqpayError('CHANNEL_CLOSED');
  const nowMs = ctx.deps.clock.nowMs();
  if (row.expiresAtSeconds <= secondsOf(nowMs)) throw new MqpayError('CHANNEL_EXPIRED');
  const wallet = walletAccount(device);
  const balance = await tx.balance(wallet) ?? 0n;
  if (balance < params.amount) throw new MqpayError('INSUFFICIENT_FUNDS', `wallet holds ${balance} micro-units`);
  const payer = await tx.device(row.payer);
  const payee = await tx.device(row.payee);
  if (payer === null || payee === null) throw new Error('channel parties must exist');
  if (payer.status !== 'active') throw new MqpayError('DEVICE_DISABLED', device);

  const deposit = addAmount(row.deposit, params.amount);
  // Server-side limits [docs/DESIGN.md rule 12]: the payee must still be allowed, and the
  // escrow's unspent part after the top-up may not exceed a day's limit.
  const limits = effectiveLimits(await tx.deviceLimits(device), ctx.deps.options.deviceLimitDefaults);
  checkPayee(limits, row.payee);
  checkEscrow(limits, subAmount(deposit, row.latestTotal));
  const revision = row.revision + 1;
  const signed = issueCertificate(ctx, { channelId: id, payer: row.payer, payerKey: payer.publicKey, payee: row.payee, payeeKey: payee.publicKey, deposit, expiresAtSeconds: row.expiresAtSeconds, revision });
  await tx.insertTransfer({ id: `topup:${params.channel}:${revision}`, from: wallet, to: escrowAccount(id), amount: params.amount, kind: 'topup', channel: row.num, nowMs });
  await tx.updateChannelDeposit(row.num, deposit, revision, signed.bytes, signed.signature);
  ctx.work.afterCommit(() => ctx.cache.update(id, { deposit }));
  const updated = await tx.channel(id);
  if (updated === null) throw new Error('channel vanished inside its own transaction');
  return { channel: channelView(updated), certificate: toHex(signed.bytes), signature: toHex(signed.signature) };
}
