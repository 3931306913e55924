// Channel certificates arriving for this agent as payee (on open and on each top-up): checked
// against the trusted service key and this agent's own identity, then stored, so vouchers on
// the channel can be checked without the service.
import { MqpayError } from '../../shared/errors.js';
import { bytesEqual, fromHex, toHex } from '../../shared/hex.js';
import { CERTIFICATE_BYTES } from '../../shared/certificate.js';
import { SIGNATURE_BYTES } from '../../shared/limits.js';
import type { AgentContext } from '../context.js';
import { upsertPayeeCertificate } from '../store/payee-channels.js';

export async function acceptCertificate(ctx: AgentContext, message: { certificate: string; signature: string }): Promise<void> {
  const bytes = fromHex(message.certificate, CERTIFICATE_BYTES);
  const signature = fromHex(message.signature, SIGNATURE_BYTES);
  const certificate = ctx.trust.checkCertificate(bytes, signature);
  if (certificate.payee !== ctx.device || !bytesEqual(certificate.payeeKey, ctx.keys.publicKey)) {
    throw new MqpayError('NOT_AUTHORIZED', 'certificate names another payee');
  }
  await ctx.batch.run(() => upsertPayeeCertificate(ctx.db, certificate, bytes, signature, ctx.clock.nowMs()));
  ctx.logger.info({ channel: toHex(certificate.channelId), payer: certificate.payer, revision: certificate.revision }, 'channel certificate stored');
}
