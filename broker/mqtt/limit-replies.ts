// A device over its rate or in-flight limit still gets an answer with an error code on the
// inbox that matches what it sent [DESIGN rule 7]: never a silent drop, never a disconnect.
import type { ErrorCode } from '../../shared/errors.js';
import type { OutboxKind } from '../../shared/topics.js';
import { inboxTopic } from '../../shared/topics.js';
import { errorBody, payloadOf } from '../service/replies.js';
import { requestIdOf } from '../service/rpc-handler.js';
import type { TransportPort } from '../service/ports.js';

export async function replyLimited(transport: TransportPort, device: string, box: OutboxKind, payload: Uint8Array, code: ErrorCode): Promise<void> {
  const error = errorBody(code);
  switch (box) {
    case 'voucher': return transport.publish(inboxTopic(device, 'voucher'), payloadOf({ v: 1, type: 'voucher.rejected', error }));
    case 'rpc': return transport.publish(inboxTopic(device, 'rpc'), payloadOf({ v: 1, id: requestIdOf(payload), ok: false, error }));
    case 'receipt': return transport.publish(inboxTopic(device, 'receipt'), payloadOf({ v: 1, type: 'receipt.rejected', error }));
    case 'offer': return undefined;
  }
}
