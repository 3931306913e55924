// Routes the service's messages on this device's inbox to the payer and payee parts. Every
// payload is parsed with the shared zod schemas first (seqs and amounts arrive as checked
// bigints, so nothing downstream re-checks a field); anything malformed is logged and
// dropped (only the service can write an inbox, so this is a version mismatch, not an attack).
// The binary frames of protocol v3 (in/voucher-bin, in/receipt-bin: shared/inbox-frames.ts) are
// decoded by their strict decoders and handed to the same parts as their JSON forms.
import { MqpayError } from '../../shared/errors.js';
import { decodeReceiptInboxFrame, decodeVoucherInboxFrame } from '../../shared/inbox-frames.js';
import { errorBody, errorFromBody, noticeSchema, PROTOCOL_VERSION, parsePayload, receiptInboxSchema, voucherInboxSchema } from '../../shared/schemas.js';
import type { InboxKind } from '../../shared/topics.js';
import type { AgentContext } from '../context.js';
import { fromHex, toHex } from '../../shared/hex.js';
import { SIGNATURE_BYTES } from '../../shared/limits.js';
import { VOUCHER_BYTES } from '../../shared/voucher.js';
import { tickFrameKindOf } from '../../shared/tick-frames.js';
import { decodeTickVerdict } from '../../shared/tick-verdict.js';
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
      else payee.onForwarded({ payer: message.payer, bytes: fromHex(message.voucher, VOUCHER_BYTES), signature: fromHex(message.signature, SIGNATURE_BYTES) }).catch(failed('forwarded voucher refused'));
    } else if (kind === 'voucher-bin') {
      routeVoucherFrame(payer, payee, payload, failed);
    } else if (kind === 'tick') {
      // Verdicts on our ticks (as payer); checkpoints and ticks the service accepted (as payee).
      if (tickFrameKindOf(payload) === 'verdict') payer.ticks.onVerdict(decodeTickVerdict(payload));
      else payee.ticks.onFrame(payload).catch(failed('forwarded tick refused'));
    } else if (kind === 'receipt-bin') {
      const frame = decodeReceiptInboxFrame(payload);
      if (frame.type === 'receipt') payer.receipts.acceptBytes(frame.bytes, frame.signature, frame.payee);
      else failed('the service refused one of our receipts')(new MqpayError(frame.code));
    } else if (kind === 'receipt') {
      const message = parsePayload(receiptInboxSchema, payload);
      if (message.type === 'receipt') payer.receipts.accept({ v: PROTOCOL_VERSION, receipt: message.receipt, signature: message.signature }, message.payee);
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

/** A binary verdict or forward, given to the payer's answers or the payee in their JSON shapes. */
function routeVoucherFrame(payer: Payer, payee: Payee, payload: Uint8Array, failed: (what: string) => (error: unknown) => void): void {
  const frame = decodeVoucherInboxFrame(payload);
  if (frame.type === 'voucher.accepted') {
    payer.answers.onAccepted({ v: PROTOCOL_VERSION, type: 'voucher.accepted', channel: toHex(frame.channelId), seq: frame.seq, total: frame.total });
  } else if (frame.type === 'voucher.rejected') {
    const key = frame.key === null ? {} : { channel: toHex(frame.key.channelId), seq: frame.key.seq };
    payer.answers.onRejected({ v: PROTOCOL_VERSION, type: 'voucher.rejected', ...key, error: errorBody(frame.code) });
  } else {
    payee.onForwarded(frame).catch(failed('forwarded voucher refused'));
  }
}
