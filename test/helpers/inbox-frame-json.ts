// The binary inbox frames of protocol v3 (in/voucher-bin, in/receipt-bin) in the JSON shape of
// their v2 forms, so a test can wait for "the verdict" or "the forward" whichever form it came in.
// The binary frames carry no error detail: `error` holds the code, message and retryable only.
import { formatAmount } from '../../shared/amount.js';
import { toHex } from '../../shared/hex.js';
import { decodeReceiptInboxFrame, decodeVoucherInboxFrame, type RefusedKey } from '../../shared/inbox-frames.js';
import { errorBody, PROTOCOL_VERSION } from '../../shared/schemas.js';

const keyOf = (key: RefusedKey | null): Record<string, string> => (key === null ? {} : { channel: toHex(key.channelId), seq: key.seq.toString() });

export function voucherFrameAsJson(payload: Uint8Array): Record<string, unknown> {
  const frame = decodeVoucherInboxFrame(payload);
  const v = PROTOCOL_VERSION;
  switch (frame.type) {
    case 'voucher.accepted': return { v, type: frame.type, channel: toHex(frame.channelId), seq: frame.seq.toString(), total: formatAmount(frame.total) };
    case 'voucher.rejected': return { v, type: frame.type, ...keyOf(frame.key), error: errorBody(frame.code) };
    case 'voucher': return { v, type: frame.type, payer: frame.payer, voucher: toHex(frame.bytes), signature: toHex(frame.signature) };
  }
}

export function receiptFrameAsJson(payload: Uint8Array): Record<string, unknown> {
  const frame = decodeReceiptInboxFrame(payload);
  const v = PROTOCOL_VERSION;
  if (frame.type === 'receipt') return { v, type: frame.type, payee: frame.payee, receipt: toHex(frame.bytes), signature: toHex(frame.signature) };
  return { v, type: frame.type, ...keyOf(frame.key), error: errorBody(frame.code) };
}

/** An inbox message of `kind` ('voucher', 'receipt', ...) as JSON, from its JSON or binary box; null for another box. */
export function inboxAsJson(kind: string, box: string, payload: Uint8Array): Record<string, unknown> | null {
  if (box === kind) return JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
  if (box === `${kind}-bin` && kind === 'voucher') return voucherFrameAsJson(payload);
  if (box === `${kind}-bin` && kind === 'receipt') return receiptFrameAsJson(payload);
  return null;
}
