// Signs a channel certificate with the service key and queues it for the payee, who needs it
// to check vouchers offline (and, after a key rotation, for the payer too: it checks receipts
// with the payee key in it).
import { encodeCertificate, type ChannelCertificate } from '../../../shared/certificate.js';
import { sign } from '../../../shared/crypto.js';
import { toHex } from '../../../shared/hex.js';
import type { Notice } from '../../../shared/schemas.js';
import { inboxTopic } from '../../../shared/topics.js';
import { payloadOf } from '../replies.js';
import type { RpcContext } from './context.js';
import { PROTOCOL_VERSION } from '../../../shared/schemas.js';

/** The currency is the ledger's, from the service's options [docs/DESIGN.md rule 13]. */
export function issueCertificate(ctx: RpcContext, terms: Omit<ChannelCertificate, 'currency'>, recipients: readonly string[] = [terms.payee]): { bytes: Uint8Array; signature: Uint8Array } {
  const bytes = encodeCertificate({ ...terms, currency: ctx.deps.options.currency });
  const signature = sign(bytes, ctx.deps.serviceKey.secretKey);
  const notice: Notice = { v: PROTOCOL_VERSION, type: 'channel.certificate', certificate: toHex(bytes), signature: toHex(signature) };
  for (const device of recipients) ctx.work.publish({ topic: inboxTopic(device, 'notice'), payload: payloadOf(notice) });
  return { bytes, signature };
}
