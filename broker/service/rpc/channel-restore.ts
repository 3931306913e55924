// channel.restore: after the ledger was restored from a backup, the devices know channels the
// service forgot (opened, topped up or paid into after the backup). A party hands back the
// channel's certificate, which the service's own key signed, and the payer's latest voucher it
// holds; the service checks its own signature and the payer's, then, in this one unit of work,
// re-creates the channel with its escrow from the payer's wallet (or raises a known one to the
// certificate's deposit) and takes the voucher as the channel's latest when higher. A wallet
// that cannot cover the deposit yet (fundings after the backup not replayed) is refused
// retryably: the device tries again later [docs/DESIGN.md rule 11].
import { formatAmount, subAmount, ZERO, type Amount } from '../../../shared/amount.js';
import { CERTIFICATE_BYTES, decodeCertificate, type ChannelCertificate } from '../../../shared/certificate.js';
import { verify } from '../../../shared/crypto.js';
import { MqpayError } from '../../../shared/errors.js';
import { fromHex, toHex } from '../../../shared/hex.js';
import { CHANNELS_PER_DEVICE_MAX, SIGNATURE_BYTES } from '../../../shared/limits.js';
import { PROTOCOL_VERSION, type RpcParams, type RpcResultInput } from '../../../shared/schemas.js';
import { judgeRedemption } from '../../../shared/voucher-rules.js';
import { decodeVoucher, VOUCHER_BYTES } from '../../../shared/voucher.js';
import { escrowAccount, walletAccount } from '../../store/accounts.js';
import type { ChannelRow } from '../../store/port.js';
import { channelView } from './channel-view.js';
import type { RpcContext } from './context.js';

type RestoreParams = RpcParams<'channel.restore'>;

export async function restoreChannel(ctx: RpcContext, device: string, params: RestoreParams): Promise<RpcResultInput<'channel.restore'>> {
  const certificate = checkedCertificate(ctx, params);
  if (device !== certificate.payer && device !== certificate.payee) throw new MqpayError('NOT_AUTHORIZED', 'only a party to the channel may restore it');
  const before = await ctx.work.tx.channel(certificate.channelId);
  const created = before === null;
  let row = before ?? await recreate(ctx, certificate, params);
  if (row.revision < certificate.revision && row.state === 'open') row = await raiseTerms(ctx, row, certificate, params);
  if (params.voucher !== undefined && params.voucherSignature !== undefined) row = await takeVoucher(ctx, row, params.voucher, params.voucherSignature);
  const healed = subAmount(row.latestTotal, before?.latestTotal ?? ZERO);
  if (created || healed > 0n || row.revision !== before?.revision) await reportHeal(ctx, device, row, created, healed);
  return { channel: channelView(row), created, healed: formatAmount(healed) };
}

/** The certificate, after the service checks its own signature on it. */
function checkedCertificate(ctx: RpcContext, params: RestoreParams): ChannelCertificate {
  const bytes = fromHex(params.certificate, CERTIFICATE_BYTES);
  if (!verify(fromHex(params.signature, SIGNATURE_BYTES), bytes, ctx.deps.serviceKey.publicKey)) throw new MqpayError('SIGNATURE_INVALID', 'the certificate is not signed by this service');
  return decodeCertificate(bytes);
}

/** Moves `amount` from the payer's wallet into the escrow, or refuses retryably when the wallet is short. */
async function payerCovers(ctx: RpcContext, payer: string, amount: Amount): Promise<void> {
  const balance = await ctx.work.tx.balance(walletAccount(payer)) ?? ZERO;
  if (balance < amount) throw new MqpayError('RESTORE_FUNDS_PENDING', `wallet of ${payer} holds ${formatAmount(balance)}, the channel needs ${formatAmount(amount)}`);
}

async function recreate(ctx: RpcContext, certificate: ChannelCertificate, params: RestoreParams): Promise<ChannelRow> {
  const { tx } = ctx.work;
  const payer = await tx.device(certificate.payer);
  const payee = await tx.device(certificate.payee);
  if (payer === null) throw new MqpayError('DEVICE_UNKNOWN', certificate.payer);
  if (payee === null) throw new MqpayError('DEVICE_UNKNOWN', certificate.payee);
  // The service signed these keys; a device re-enrolled with another key since is not this channel's.
  if (toHex(payer.publicKey) !== toHex(certificate.payerKey) || toHex(payee.publicKey) !== toHex(certificate.payeeKey)) throw new MqpayError('KEY_INVALID', 'a party\'s key differs from the certificate\'s');
  if (await tx.countOpenChannelsOfPayer(certificate.payer) >= CHANNELS_PER_DEVICE_MAX) throw new MqpayError('CHANNEL_LIMIT', `at most ${CHANNELS_PER_DEVICE_MAX}`);
  await payerCovers(ctx, certificate.payer, certificate.deposit);
  const id = certificate.channelId;
  const hex = toHex(id);
  const nowMs = ctx.deps.clock.nowMs();
  const bytes = fromHex(params.certificate, CERTIFICATE_BYTES);
  const signature = fromHex(params.signature, SIGNATURE_BYTES);
  const wallet = walletAccount(certificate.payer);
  const escrow = escrowAccount(id);
  const escrowKey = await tx.ensureAccount(escrow, 'escrow');
  const num = await tx.insertChannel({
    id, payer: certificate.payer, payee: certificate.payee, payerWallet: await tx.accountKey(wallet), payeeWallet: await tx.accountKey(walletAccount(certificate.payee)),
    escrowAccount: escrowKey, deposit: certificate.deposit, expiresAtSeconds: certificate.expiresAtSeconds, certificate: bytes, certificateSignature: signature, nowMs,
  });
  // The open's own transfer id: the restored ledger never saw it (the channel was unknown).
  await tx.insertTransfer({ id: `deposit:${hex}`, from: wallet, to: escrow, amount: certificate.deposit, kind: 'deposit', channel: num, nowMs });
  if (certificate.revision > 1) await tx.raiseChannelTerms(num, certificate.deposit, certificate.revision, bytes, signature);
  return rowOf(ctx, id);
}

/** A known channel whose top-ups after the backup were lost: the difference moves now, under the lost top-up's id. */
async function raiseTerms(ctx: RpcContext, row: ChannelRow, certificate: ChannelCertificate, params: RestoreParams): Promise<ChannelRow> {
  if (certificate.deposit < row.deposit) throw new MqpayError('MESSAGE_INVALID', 'a later certificate revision with a smaller deposit');
  const more = subAmount(certificate.deposit, row.deposit);
  const { tx } = ctx.work;
  const nowMs = ctx.deps.clock.nowMs();
  if (more > 0n) {
    await payerCovers(ctx, row.payer, more);
    await tx.insertTransfer({ id: `topup:${toHex(row.id)}:${certificate.revision}`, from: walletAccount(row.payer), to: escrowAccount(row.id), amount: more, kind: 'topup', channel: row.num, nowMs });
  }
  await tx.raiseChannelTerms(row.num, certificate.deposit, certificate.revision, fromHex(params.certificate, CERTIFICATE_BYTES), fromHex(params.signature, SIGNATURE_BYTES));
  ctx.work.afterCommit(() => ctx.cache.update(row.id, { deposit: certificate.deposit }));
  return rowOf(ctx, row.id);
}

/** The payer's voucher, judged as a redemption: a higher one becomes the latest; an older or equal one changes nothing. */
async function takeVoucher(ctx: RpcContext, row: ChannelRow, voucherHex: string, signatureHex: string): Promise<ChannelRow> {
  const bytes = fromHex(voucherHex, VOUCHER_BYTES);
  const signature = fromHex(signatureHex, SIGNATURE_BYTES);
  const voucher = decodeVoucher(bytes);
  if (toHex(voucher.channelId) !== toHex(row.id)) throw new MqpayError('MESSAGE_INVALID', 'the voucher is for another channel');
  const payer = await ctx.work.tx.device(row.payer);
  if (payer === null) throw new Error('channel parties must exist');
  if (!verify(signature, bytes, payer.publicKey)) throw new MqpayError('SIGNATURE_INVALID', 'not signed by the channel\'s payer');
  const verdict = judgeRedemption(row, voucher);
  if (verdict.kind === 'reject') throw new MqpayError(verdict.code);
  if (verdict.kind === 'double-signed') throw new MqpayError('VOUCHER_DOUBLE_SIGNED', `seq ${voucher.seq} was accepted with another total`);
  if (verdict.kind !== 'advance') return row;
  await ctx.work.tx.appendVoucher({ channel: row.num, seq: voucher.seq, total: voucher.total, voucher: bytes, signature, redeeming: true, nowMs: ctx.deps.clock.nowMs() });
  ctx.work.afterCommit(() => {
    const cached = ctx.cache.peek(voucher.channelId);
    if (cached !== null && cached.latestSeq < voucher.seq) ctx.cache.update(voucher.channelId, { latestSeq: voucher.seq, latestTotal: voucher.total, latestSignature: signature, latestVoucher: bytes });
  });
  return rowOf(ctx, row.id);
}

/** Counted in the restore record and reported on the ops stream once committed. */
export async function reportHeal(ctx: RpcContext, device: string, row: ChannelRow, created: boolean, amount: Amount): Promise<void> {
  if (!(await ctx.work.tx.recordHeal({ created, amount }))) return;
  const atMs = ctx.deps.clock.nowMs();
  ctx.work.afterCommit(() => {
    ctx.deps.logger.info({ channel: toHex(row.id), device, created, amount: formatAmount(amount), seq: row.latestSeq.toString() }, 'ledger healed by a device');
    ctx.telemetry.emit({ kind: 'ops.event', event: { v: PROTOCOL_VERSION, type: 'ledger.healed', channel: toHex(row.id), device, created, amount: formatAmount(amount), seq: row.latestSeq.toString(), atMs } });
  });
}

async function rowOf(ctx: RpcContext, id: Uint8Array): Promise<ChannelRow> {
  const row = await ctx.work.tx.channel(id);
  if (row === null) throw new Error('channel vanished inside its own transaction');
  return row;
}
