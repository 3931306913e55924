// Paying against a seller's signed offer: exactly price x quantity, and the voucher names the
// offer (its digest is the voucher's memo digest). The offer is checked before anything is
// signed: the seller named (OFFER_SELLER_MISMATCH), not expired (OFFER_EXPIRED), and signed by
// the seller key of a service-signed channel certificate (SIGNATURE_INVALID). A buyer with no
// channel to the seller yet learns that key by opening one (the deposit stays its own until
// it pays), then checks the signature before it signs a voucher.
import { MqpayError } from '../../shared/errors.js';
import { fromHex } from '../../shared/hex.js';
import { offerCost } from '../../shared/offer.js';
import type { AgentContext } from '../context.js';
import { offerFromMessage, readOffer } from '../offers.js';
import type { OfferPayment, PayOfferOptions } from '../types.js';
import type { Payer } from './payer.js';

function quantityOf(quantity: bigint | number): bigint {
  if (typeof quantity === 'bigint') return quantity;
  if (!Number.isSafeInteger(quantity)) throw new MqpayError('MESSAGE_INVALID', 'quantity must be an integer');
  return BigInt(quantity);
}

export async function payOffer(ctx: AgentContext, payer: Payer, payee: string, options: PayOfferOptions): Promise<OfferPayment> {
  const quantity = quantityOf(options.quantity);
  const message = options.offer ?? (await readOffer(ctx, payee, options.timeoutMs)).message;
  let offer = offerFromMessage(ctx, payee, message);
  const amount = offerCost(offer, quantity);
  payer.checkPolicy(payee, amount);
  if (!offer.sellerKeyChecked) {
    await payer.funding.ensure(payee, amount);
    offer = offerFromMessage(ctx, payee, message);
    if (!offer.sellerKeyChecked) throw new MqpayError('SERVICE_UNAVAILABLE', `no certified key of ${payee} to check its offer against`);
  }
  const payOptions = { ...(options.receipt === undefined ? {} : { receipt: options.receipt }), ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) };
  const payment = await payer.pay(payee, amount, payOptions, fromHex(offer.digest));
  return { ...payment, offer, quantity };
}
