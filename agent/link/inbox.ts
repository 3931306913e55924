// Routes the service's messages on this device's inbox to the payer and payee parts. Every
// payload is parsed with the shared zod schemas first (seqs and amounts arrive as checked
// bigints, so nothing downstream re-checks a field); anything malformed is logged and
// dropped (only the service can write an inbox, so this is a version mismatch, not an attack).
import { MqpayError } from '../../shared/errors.js';
import { errorFromBody, noticeSchema, parsePayload, receiptInboxSchema, voucherInboxSchema } from '../../shared/schemas.js';
import type { InboxKind } from '../../shared/topics.js';
import type { AgentContext } from '../context.js';
import { applyNotice } from '../notices.js';
import type { Payee } from '../payee/payee.js';
import type { Payer } from '../payer/payer.js';

export function routeInbox(ctx: AgentContext, payer: Payer, payee: Payee, kind: InboxKind, payload: Uint8Array): void {
  const failed = (what: string) => (error: unknown) => {
    const code = error instanceof MqpayError ? error.code : 'INTERNAL';
    ctx.logger.warn({ kind, code, err: (error as Error)?.message }, what);
  };
  try {
    if (kind === 'voucher') {
      const message = parsePayload(voucherInboxSchema, payload);
      if (message.type === 'voucher.accepted') payer.answers.onAccepted(message);
      else if (message.type === 'voucher.rejected') payer.answers.onRejected(message);
      else payee.onForwarded(message).catch(failed('forwarded voucher refused'));
    } else if (kind === 'receipt') {
      const message = parsePayload(receiptInboxSchema, payload);
      if (message.type === 'receipt') payer.receipts.accept({ v: 2, receipt: message.receipt, signature: message.signature }, message.payee);
      else failed('the service refused one of our receipts')(errorFromBody(message.error));
    } else if (kind === 'notice') {
      const notice = parsePayload(noticeSchema, payload);
      applyNotice(ctx, notice).catch(failed('notice not applied'));
      // A close is pending: the payee redeems any better voucher before the deadline [docs/DESIGN.md rule 11].
      if (notice.type === 'channel.closing') payee.redeemer.redeemInBackground('channel closing', notice.channel);
    }
  } catch (error) {
    failed('inbox message ignored')(error);
  }
}
