// Turns a channel.open or channel.topup answer into terms the payer can rely on: the
// certificate must be signed by the trusted service key and describe exactly the channel this
// agent asked for (its id, this payer and key, the intended payee).
import { MqpayError } from '../../shared/errors.js';
import { bytesEqual, fromHex } from '../../shared/hex.js';
import { CERTIFICATE_BYTES } from '../../shared/certificate.js';
import { SIGNATURE_BYTES } from '../../shared/limits.js';
import type { AgentContext } from '../context.js';
import type { CertifiedTerms, PayerChannel } from '../store/payer-channels.js';
import { certifiedResultSchema, parseResult } from './rpc-results.js';

export function certifiedTermsOf(ctx: AgentContext, channel: PayerChannel, result: Record<string, unknown>, what: string): { terms: CertifiedTerms; closed: boolean } {
  const parsed = parseResult(certifiedResultSchema, result, what);
  if (parsed.servicePublicKey !== undefined) ctx.trust.learn(parsed.servicePublicKey);
  const bytes = fromHex(parsed.certificate, CERTIFICATE_BYTES);
  const signature = fromHex(parsed.signature, SIGNATURE_BYTES);
  const certificate = ctx.trust.checkCertificate(bytes, signature);
  const matches = bytesEqual(certificate.channelId, channel.id) && certificate.payer === ctx.device
    && bytesEqual(certificate.payerKey, ctx.keys.publicKey) && certificate.payee === channel.payee;
  if (!matches) throw new MqpayError('MESSAGE_INVALID', `${what}: the certificate describes another channel`);
  return {
    terms: { deposit: certificate.deposit, expiresAtSeconds: certificate.expiresAtSeconds, revision: certificate.revision, certificate: bytes, certificateSignature: signature, payeeKey: certificate.payeeKey },
    closed: parsed.channel.state === 'closed',
  };
}
