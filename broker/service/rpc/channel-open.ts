// channel.open: moves the deposit from the payer's wallet into a new escrow and signs the
// channel certificate. The channel id is the payer's choice, so a retried open (even under a
// new request id) finds its channel instead of opening a second one.
import { MqpayError } from '../../../shared/errors.js';
import { toHex } from '../../../shared/hex.js';
import { channelIdFromHex } from '../../../shared/ids.js';
import { CHANNELS_PER_DEVICE_MAX } from '../../../shared/limits.js';
import type { RpcParams, RpcResultInput } from '../../../shared/schemas.js';
import { secondsOf } from '../../../shared/time.js';
import { escrowAccount, walletAccount } from '../../store/accounts.js';
import { checkEscrow, checkPayee, effectiveLimits } from '../spending/spending-guard.js';
import type { ChannelRow } from '../../store/port.js';
import { issueCertificate } from './certificate-issue.js';
import { channelView } from './channel-view.js';
import type { RpcContext } from './context.js';

type OpenParams = RpcParams<'channel.open'>;

export async function openChannel(ctx: RpcContext, device: string, params: OpenParams): Promise<RpcResultInput<'channel.open'>> {
  const { tx } = ctx.work;
  const { clock, serviceKey } = ctx.deps;
  const id = channelIdFromHex(params.channel);
  const existing = await tx.channel(id);
  if (existing !== null) {
    if (existing.payer !== device || existing.payee !== params.payee) throw new MqpayError('NOT_AUTHORIZED', 'channel id is taken');
    return openResult(ctx, existing, existing.certificate, existing.certificateSignature);
  }
  if (params.payee === device) throw new MqpayError('CHANNEL_SELF');
  const payer = await tx.device(device);
  const payee = await tx.device(params.payee);
  if (payer === null) throw new MqpayError('DEVICE_UNKNOWN', device);
  if (payee === null) throw new MqpayError('DEVICE_UNKNOWN', params.payee);
  if (payer.status !== 'active') throw new MqpayError('DEVICE_DISABLED', device);
  if (payee.status !== 'active') throw new MqpayError('DEVICE_DISABLED', params.payee);
  // Server-side limits [docs/DESIGN.md rule 12]: read in this transaction, whatever wrote them.
  const limits = effectiveLimits(await tx.deviceLimits(device), ctx.deps.options.deviceLimitDefaults);
  checkPayee(limits, params.payee);
  checkEscrow(limits, params.deposit);
  if (await tx.countOpenChannelsOfPayer(device) >= CHANNELS_PER_DEVICE_MAX) throw new MqpayError('CHANNEL_LIMIT', `at most ${CHANNELS_PER_DEVICE_MAX}`);
  const wallet = walletAccount(device);
  const balance = await tx.balance(wallet) ?? 0n;
  if (balance < params.deposit) throw new MqpayError('INSUFFICIENT_FUNDS', `wallet holds ${balance} micro-units`);

  const nowMs = clock.nowMs();
  const expiresAtSeconds = secondsOf(nowMs) + BigInt(params.durationSeconds);
  const certificate = { channelId: id, payer: device, payerKey: payer.publicKey, payee: payee.id, payeeKey: payee.publicKey, deposit: params.deposit, expiresAtSeconds, revision: 1 };
  const signed = issueCertificate(ctx, certificate);
  const escrow = escrowAccount(id);
  const escrowKey = await tx.ensureAccount(escrow, 'escrow');
  const num = await tx.insertChannel({
    id, payer: device, payee: payee.id, payerWallet: await tx.accountKey(wallet), payeeWallet: await tx.accountKey(walletAccount(payee.id)), escrowAccount: escrowKey,
    deposit: params.deposit, expiresAtSeconds, certificate: signed.bytes, certificateSignature: signed.signature, nowMs,
  });
  await tx.insertTransfer({ id: `deposit:${params.channel}`, from: wallet, to: escrow, amount: params.deposit, kind: 'deposit', channel: num, nowMs });
  const row = await tx.channel(id);
  if (row === null) throw new Error('channel vanished inside its own transaction');
  return openResult(ctx, row, signed.bytes, signed.signature);
}

function openResult(ctx: RpcContext, row: ChannelRow, certificate: Uint8Array, signature: Uint8Array): RpcResultInput<'channel.open'> {
  return { channel: channelView(row), certificate: toHex(certificate), signature: toHex(signature), servicePublicKey: toHex(ctx.deps.serviceKey.publicKey) };
}
