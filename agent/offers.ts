// Price offers: a payee advertises what it charges per unit; the service republishes the offer
// retained on mqpay/v1/offers/{device}, so a payer that subscribes gets the current one at once.
import { formatAmount } from '../shared/amount.js';
import { MqpayError } from '../shared/errors.js';
import { deviceIdSchema, offerMessageSchema, offerNoticeSchema, parsePayload, type OfferMessage } from '../shared/schemas.js';
import { offerTopic } from '../shared/topics.js';
import { toAmount, type AmountInput } from './amount-input.js';
import type { AgentContext } from './context.js';
import type { Offer } from './types.js';
import { OFFER_READ_TIMEOUT_MS_DEFAULT } from './limits.js';

export async function publishOffer(ctx: AgentContext, offer: { unit: string; price: AmountInput }): Promise<void> {
  const message: OfferMessage = { v: 2, unit: offer.unit, price: formatAmount(toAmount(offer.price)) };
  const checked = offerMessageSchema.safeParse(message);
  if (!checked.success) throw new MqpayError('MESSAGE_INVALID', `offer: ${checked.error.issues[0]?.message ?? 'invalid'}`);
  if (!(await ctx.link.whenConnected(ctx.timing.requestTimeoutMs))) throw new MqpayError('SERVICE_UNAVAILABLE', 'broker unreachable; offer not published');
  await ctx.link.publish('offer', message);
}

export async function readOffer(ctx: AgentContext, device: string, timeoutMs = OFFER_READ_TIMEOUT_MS_DEFAULT): Promise<Offer> {
  const { link } = ctx;
  if (!(await link.whenConnected(timeoutMs))) throw new MqpayError('SERVICE_UNAVAILABLE', 'broker unreachable; cannot read offers');
  const topic = offerTopic(deviceIdSchema.parse(device));
  let onOffer: ((from: string, payload: Uint8Array) => void) | null = null;
  let timer: NodeJS.Timeout | null = null;
  const arrived = new Promise<Offer>((resolve, reject) => {
    onOffer = (from, payload) => {
      if (from !== device) return;
      try {
        resolve(parsePayload(offerNoticeSchema, payload));
      } catch (error) {
        reject(error);
      }
    };
    timer = setTimeout(() => reject(new MqpayError('TIMEOUT', `no offer from ${device} within ${timeoutMs} ms`)), timeoutMs);
    link.on('offer', onOffer);
  });
  arrived.catch(() => undefined); // awaited below; this only keeps an early timeout from being "unhandled"
  try {
    await link.subscribe(topic);
    return await arrived;
  } finally {
    if (timer !== null) clearTimeout(timer);
    if (onOffer !== null) link.off('offer', onOffer);
    await link.unsubscribe(topic);
  }
}
