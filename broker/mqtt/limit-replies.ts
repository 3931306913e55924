// A device over its rate or in-flight limit still gets an answer with an error code on the
// inbox that matches what it sent [docs/DESIGN.md rule 7]: never a silent drop, never a disconnect.
import type { ErrorCode } from '../../shared/errors.js';
import { fromHex, toHex } from '../../shared/hex.js';
import { encodeReceiptRejected, encodeVoucherRejected, type RefusedKey } from '../../shared/inbox-frames.js';
import { parsePayload, PROTOCOL_VERSION, voucherMessageSchema } from '../../shared/schemas.js';
import { decodeReceiptFrame, decodeVoucherFrame, type SignedReceiptFrame, type SignedVoucherFrame } from '../../shared/signed-frames.js';
import { decodeVoucher, VOUCHER_BYTES } from '../../shared/voucher.js';
import { refusedTickVerdict } from '../service/ticks/tick-answers.js';
import type { OutboxKind } from '../../shared/topics.js';
import { inboxTopic } from '../../shared/topics.js';
import { errorBody, payloadOf } from '../service/replies.js';
import { requestIdOf } from '../service/rpc/handler.js';
import type { TransportPort } from '../service/ports.js';

export async function replyLimited(transport: TransportPort, device: string, box: OutboxKind, payload: Uint8Array, code: ErrorCode): Promise<void> {
  const error = errorBody(code);
  switch (box) {
    case 'voucher': return transport.publish(inboxTopic(device, 'voucher'), payloadOf({ v: PROTOCOL_VERSION, type: 'voucher.rejected', ...voucherKeyOf(payload), error }));
    case 'rpc': return transport.publish(inboxTopic(device, 'rpc'), payloadOf({ v: PROTOCOL_VERSION, id: requestIdOf(payload), ok: false, error }));
    case 'receipt': return transport.publish(inboxTopic(device, 'receipt'), payloadOf({ v: PROTOCOL_VERSION, type: 'receipt.rejected', error }));
    case 'voucher-bin': return transport.publish(inboxTopic(device, 'voucher-bin'), encodeVoucherRejected(code, binaryKeyOf(payload, decodeVoucherFrame)));
    case 'receipt-bin': return transport.publish(inboxTopic(device, 'receipt-bin'), encodeReceiptRejected(code, binaryKeyOf(payload, decodeReceiptFrame)));
    case 'offer': return undefined;
    case 'tick': return transport.publish(inboxTopic(device, 'tick'), refusedTickVerdict(payload, code));
  }
}

/** Channel and seq of a refused binary voucher or receipt when its frame decodes. */
function binaryKeyOf(payload: Uint8Array, decode: (payload: Uint8Array) => SignedVoucherFrame | SignedReceiptFrame): RefusedKey | null {
  try {
    const frame = decode(payload);
    return 'voucher' in frame ? frame.voucher : frame.receipt;
  } catch {
    return null;
  }
}

/** Channel and seq of a refused voucher when it decodes, so the agent knows which one it was. */
function voucherKeyOf(payload: Uint8Array): { channel?: string; seq?: string } {
  try {
    const message = parsePayload(voucherMessageSchema, payload);
    const voucher = decodeVoucher(fromHex(message.voucher, VOUCHER_BYTES));
    return { channel: toHex(voucher.channelId), seq: voucher.seq.toString() };
  } catch {
    return {};
  }
}
