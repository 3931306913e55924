// Notices from the service on in/notice: certificates (payee side), settlements and closes
// (both sides). Settlement and close notices are bookkeeping: the service's ledger is the
// truth about money; these keep `status` and channel choice current.
import { formatAmount } from '../shared/amount.js';
import { CERTIFICATE_BYTES } from '../shared/certificate.js';
import { MqpayError } from '../shared/errors.js';
import { fromHex, toHex } from '../shared/hex.js';
import { SIGNATURE_BYTES } from '../shared/limits.js';
import { channelIdFromHex } from '../shared/ids.js';
import type { NoticeParsed } from '../shared/schemas.js';
import type { AgentContext } from './context.js';
import { markPayeeChannelClosed, recordPayeeSettled, upsertPayeeCertificate } from './store/payee-channels.js';
import { applyPayerCertificate, getPayerChannel, recordPayerSettled, setPayerChannelState } from './store/payer-channels.js';

export async function applyNotice(ctx: AgentContext, notice: NoticeParsed): Promise<void> {
  const { db, batch, logger } = ctx;
  switch (notice.type) {
    case 'channel.certificate':
      return acceptCertificate(ctx, notice);
    case 'settlement': {
      const id = channelIdFromHex(notice.channel);
      const settled = notice.settledTotal;
      await batch.run(() => {
        recordPayerSettled(db, id, settled);
        recordPayeeSettled(db, id, settled);
      });
      logger.info({ channel: notice.channel, amount: formatAmount(notice.amount), settledTotal: formatAmount(settled) }, 'channel settled');
      return;
    }
    case 'channel.closing': {
      // The payer signs nothing more on it (the service refuses it, CHANNEL_CLOSING); the payee
      // keeps it open locally until the closed notice, and redeems (link/inbox.ts).
      const id = channelIdFromHex(notice.channel);
      await batch.run(() => {
        const payer = getPayerChannel(db, id);
        if (payer !== null && payer.state === 'open') setPayerChannelState(db, id, 'closed');
      });
      logger.info({ channel: notice.channel, closesAtMs: notice.closesAtMs, by: notice.by }, 'channel closing');
      return;
    }
    case 'channel.closed': {
      const id = channelIdFromHex(notice.channel);
      await batch.run(() => {
        if (getPayerChannel(db, id) !== null) setPayerChannelState(db, id, 'closed');
        markPayeeChannelClosed(db, id);
        recordPayerSettled(db, id, notice.settled);
        recordPayeeSettled(db, id, notice.settled);
      });
      logger.info({ channel: notice.channel, settled: formatAmount(notice.settled), refunded: formatAmount(notice.refunded) }, 'channel closed');
      return;
    }
  }
}

// Channel certificates: for this agent as payee (on open and on each top-up), and, after a key
// rotation of either party, as payer too [docs/DESIGN.md rule 12]. Checked against the trusted
// service key and this agent's own identity (its current key, or the one a pending rotation is
// switching to), then stored, so vouchers (payee) and receipts (payer) can be checked without the
// service.
async function acceptCertificate(ctx: AgentContext, message: { certificate: string; signature: string }): Promise<void> {
  const bytes = fromHex(message.certificate, CERTIFICATE_BYTES);
  const signature = fromHex(message.signature, SIGNATURE_BYTES);
  const certificate = ctx.trust.checkCertificate(bytes, signature);
  const asPayee = certificate.payee === ctx.device && ctx.keys.isOwn(certificate.payeeKey);
  const asPayer = certificate.payer === ctx.device && ctx.keys.isOwn(certificate.payerKey);
  if (!asPayee && !asPayer) throw new MqpayError('NOT_AUTHORIZED', 'certificate names another device or key');
  const terms = { deposit: certificate.deposit, expiresAtSeconds: certificate.expiresAtSeconds, revision: certificate.revision, certificate: bytes, certificateSignature: signature, payeeKey: certificate.payeeKey };
  await ctx.batch.run(() => {
    if (asPayee) upsertPayeeCertificate(ctx.db, certificate, bytes, signature, ctx.clock.nowMs());
    if (asPayer && getPayerChannel(ctx.db, certificate.channelId) !== null) applyPayerCertificate(ctx.db, certificate.channelId, terms);
  });
  ctx.logger.info({ channel: toHex(certificate.channelId), payer: certificate.payer, revision: certificate.revision, as: asPayee ? 'payee' : 'payer' }, 'channel certificate stored');
}
