// channel.open: moves the deposit from the payer's wallet into a new escrow and signs the
// channel certificate. The channel id is the payer's choice, so a retried open (even under a
// new request id) finds its channel instead of opening a second one.
import { MqpayError } from '../../../shared/errors.js';
import { channelIdFromHex } from '../../../shared/ids.js';
import { toHex } from '../../../shared/hex.js';
import { CHANNELS_PER_DEVICE_MAX } from '../../../shared/limits.js';
import type { RpcParams, RpcResultInput } from '../../../shared/schemas.js';
import { countOpenChannelsOfPayer, getChannel, insertChannel } from '../../store/channels.js';
import { getDevice } from '../../store/devices.js';
import { accountKey, balanceOf, ensureAccount, escrowAccount, insertTransfer, walletAccount } from '../../store/ledger.js';
import { channelView } from './channel-view.js';
import { issueCertificate } from './certificate-issue.js';
import { secondsOf } from '../../../shared/time.js';
import type { RpcContext } from './context.js';

type OpenParams = RpcParams<'channel.open'>;

export function openChannel(ctx: RpcContext, device: string, params: OpenParams): RpcResultInput<'channel.open'> {
  const { db, clock, serviceKey } = ctx.deps;
  const id = channelIdFromHex(params.channel);
  const existing = getChannel(db, id);
  if (existing !== null) {
    if (existing.payer !== device || existing.payee !== params.payee) throw new MqpayError('NOT_AUTHORIZED', 'channel id is taken');
    return { channel: channelView(existing), certificate: toHex(existing.certificate), signature: toHex(existing.certificateSignature), servicePublicKey: toHex(serviceKey.publicKey) };
  }
  if (params.payee === device) throw new MqpayError('CHANNEL_SELF');
  const payer = getDevice(db, device);
  const payee = getDevice(db, params.payee);
  if (payer === null) throw new MqpayError('DEVICE_UNKNOWN', device);
  if (payee === null) throw new MqpayError('DEVICE_UNKNOWN', params.payee);
  if (payee.status !== 'active') throw new MqpayError('DEVICE_DISABLED', params.payee);
  if (countOpenChannelsOfPayer(db, device) >= CHANNELS_PER_DEVICE_MAX) throw new MqpayError('CHANNEL_LIMIT', `at most ${CHANNELS_PER_DEVICE_MAX}`);
  const wallet = walletAccount(device);
  const balance = balanceOf(db, wallet) ?? 0n;
  if (balance < params.deposit) throw new MqpayError('INSUFFICIENT_FUNDS', `wallet holds ${balance} micro-units`);

  const nowMs = clock.nowMs();
  const expiresAtSeconds = secondsOf(nowMs) + BigInt(params.durationSeconds);
  const certificate = { channelId: id, payer: device, payerKey: payer.publicKey, payee: payee.id, payeeKey: payee.publicKey, deposit: params.deposit, expiresAtSeconds, revision: 1 };
  const signed = issueCertificate(ctx, certificate);
  const escrow = escrowAccount(id);
  const escrowKey = ensureAccount(db, escrow, 'escrow');
  const num = insertChannel(db, {
    id, payer: device, payee: payee.id, payerWallet: accountKey(db, wallet), payeeWallet: accountKey(db, walletAccount(payee.id)), escrowAccount: escrowKey,
    deposit: params.deposit, expiresAtSeconds, certificate: signed.bytes, certificateSignature: signed.signature, nowMs,
  });
  insertTransfer(db, { id: `deposit:${params.channel}`, from: wallet, to: escrow, amount: params.deposit, kind: 'deposit', channel: num, nowMs });
  const row = getChannel(db, id);
  if (row === null) throw new Error('channel vanished inside its own transaction');
  return { channel: channelView(row), certificate: toHex(signed.bytes), signature: toHex(signed.signature), servicePublicKey: toHex(serviceKey.publicKey) };
}
