// Offers: a payee advertises its price. Devices may not write retained messages or each other's
// topics, so the service republishes a checked offer, retained, on mqpay/v1/offers/{device},
// which every device may read.
import { formatAmount } from '../../shared/amount.js';
import { MqpayError } from '../../shared/errors.js';
import { offerMessageSchema, parsePayload, type OfferNotice } from '../../shared/schemas.js';
import { offerTopic } from '../../shared/topics.js';
import type { ServiceDeps } from './ports.js';
import { payloadOf } from './replies.js';

export async function handleOffer(deps: ServiceDeps, device: string, payload: Uint8Array): Promise<void> {
  let offer;
  try {
    offer = parsePayload(offerMessageSchema, payload);
  } catch (error) {
    deps.logger.info({ device, code: error instanceof MqpayError ? error.code : 'INTERNAL' }, 'offer refused');
    return;
  }
  const message: OfferNotice = { v: 2, device, unit: offer.unit, price: formatAmount(offer.price), atMs: deps.clock.nowMs() };
  await deps.transport.publish(offerTopic(device), payloadOf(message), { retain: true });
}
