// Price offers, signed by the seller (shared/offer.ts). A seller's agent signs its offer with the
// device key and publishes it on out/offer; the service checks it, stores it and serves it,
// retained, on mqpay/v1/offers/{device}. The agent keeps the terms and signs them afresh (new
// issue time and expiry) after every reconnect, so the offer never runs out while the seller is
// online. A buyer checks the seller's signature against the seller key in a service-signed
// channel certificate it holds, and the expiry against its own clock, before it pays.
import { checkCurrencyCode, DEFAULT_CURRENCY } from '../shared/currency.js';
import { sign } from '../shared/crypto.js';
import { MqpayError } from '../shared/errors.js';
import { fromHex, toHex } from '../shared/hex.js';
import { OFFER_LIFETIME_S_MAX, SIGNATURE_BYTES } from '../shared/limits.js';
import { checkOfferCurrent, decodeOffer, encodeOffer, OFFER_BYTES, offerDigestOf, verifiedOffer, type Offer as SignedTerms } from '../shared/offer.js';
import { deviceIdSchema, offerMessageSchema, offerNoticeSchema, parsePayload, PROTOCOL_VERSION } from '../shared/schemas.js';
import { offerTopic } from '../shared/topics.js';
import { toAmount } from './amount-input.js';
import type { AgentContext } from './context.js';
import { certifiedPayeeKey } from './store/payer-channels.js';
import type { Offer, OfferMessage, OfferTerms } from './types.js';
import { OFFER_LIFETIME_S_DEFAULT, OFFER_READ_TIMEOUT_MS_DEFAULT } from './limits.js';

interface HeldTerms {
  readonly unit: string;
  readonly price: SignedTerms['price'];
  readonly currency: string;
  readonly lifetimeSeconds: number;
}

function heldTermsOf(terms: OfferTerms): HeldTerms {
  const lifetimeSeconds = terms.lifetimeSeconds ?? OFFER_LIFETIME_S_DEFAULT;
  // The service refuses an offer that runs longer than OFFER_LIFETIME_S_MAX: say so here, not silently there.
  if (!Number.isSafeInteger(lifetimeSeconds) || lifetimeSeconds < 1 || lifetimeSeconds > OFFER_LIFETIME_S_MAX) {
    throw new MqpayError('MESSAGE_INVALID', `offer lifetime must be 1 to ${OFFER_LIFETIME_S_MAX} seconds`);
  }
  return { unit: terms.unit, price: toAmount(terms.price), currency: checkCurrencyCode(terms.currency ?? DEFAULT_CURRENCY), lifetimeSeconds };
}

/**
 * Reads a signed offer as `seller`'s: decoded (ENCODING_INVALID), naming the seller
 * (OFFER_SELLER_MISMATCH), not expired by this agent's clock (OFFER_EXPIRED), and signed by the
 * seller key of a channel certificate this agent holds, when it holds one (SIGNATURE_INVALID).
 */
export function offerFromMessage(ctx: AgentContext, seller: string, message: OfferMessage, atMs = 0): Offer {
  const checked = parsePayload(offerMessageSchema, JSON.stringify(message));
  const bytes = fromHex(checked.offer, OFFER_BYTES);
  const signature = fromHex(checked.signature, SIGNATURE_BYTES);
  const key = certifiedPayeeKey(ctx.db, seller);
  const terms = key === null ? decodeOffer(bytes) : verifiedOffer(bytes, signature, seller, key);
  if (terms.seller !== seller) throw new MqpayError('OFFER_SELLER_MISMATCH', `offer of ${terms.seller}, expected ${seller}`);
  checkOfferCurrent(terms, ctx.clock.nowMs());
  return {
    device: seller, currency: terms.currency, unit: terms.unit, price: terms.price, issuedAtMs: terms.issuedAtMs,
    expiresAtSeconds: terms.expiresAtSeconds, digest: toHex(offerDigestOf(bytes)), sellerKeyChecked: key !== null, atMs,
    message: { v: checked.v, offer: checked.offer, signature: checked.signature },
  };
}

/** The seller's side: signs its terms, publishes them, and again after every reconnect. */
export class OfferPublisher {
  private terms: HeldTerms | null = null;
  private lastIssuedMs = 0n;

  constructor(private readonly ctx: AgentContext) {}

  /** Signs the terms now: a fresh issue time, always later than the last one signed here. */
  private signNow(terms: HeldTerms): OfferMessage {
    const nowMs = BigInt(this.ctx.clock.nowMs());
    const issuedAtMs = nowMs > this.lastIssuedMs ? nowMs : this.lastIssuedMs + 1n;
    const expiresAtSeconds = issuedAtMs / 1000n + BigInt(terms.lifetimeSeconds);
    const bytes = encodeOffer({ seller: this.ctx.device, currency: terms.currency, unit: terms.unit, price: terms.price, issuedAtMs, expiresAtSeconds });
    this.lastIssuedMs = issuedAtMs;
    return { v: PROTOCOL_VERSION, offer: toHex(bytes), signature: toHex(sign(bytes, this.ctx.keys.secretKey)) };
  }

  /** Signs and publishes `terms` as this seller's current offer; kept, and re-published on reconnect. */
  async publish(input: OfferTerms): Promise<Offer> {
    const terms = heldTermsOf(input);
    this.signNow(terms); // malformed terms throw here, before they are kept
    this.terms = terms;
    if (!(await this.ctx.link.whenConnected(this.ctx.timing.requestTimeoutMs))) {
      throw new MqpayError('SERVICE_UNAVAILABLE', 'broker unreachable; the offer is kept and published when the link is back');
    }
    // Signed now, after any signing the connect did, so what is sent last is the newest.
    const message = this.signNow(terms);
    await this.ctx.link.publish('offer', message);
    return offerFromMessage(this.ctx, this.ctx.device, message);
  }

  /** After a (re)connect: the service may have restarted or the offer run out; sign and send it again. */
  onConnected(): void {
    if (this.terms === null) return;
    const message = this.signNow(this.terms);
    this.ctx.link.publish('offer', message).then(
      () => this.ctx.logger.info({ device: this.ctx.device }, 'offer re-published'),
      (error: unknown) => this.ctx.logger.warn({ err: (error as Error).message }, 'offer not re-published'),
    );
  }
}

/** The current offer of `device`, as the service serves it, checked as `offerFromMessage` says. */
export async function readOffer(ctx: AgentContext, device: string, timeoutMs = OFFER_READ_TIMEOUT_MS_DEFAULT): Promise<Offer> {
  const { link } = ctx;
  if (!(await link.whenConnected(timeoutMs))) throw new MqpayError('SERVICE_UNAVAILABLE', 'broker unreachable; cannot read offers');
  const topic = offerTopic(deviceIdSchema.parse(device));
  let onOffer: ((from: string, payload: Uint8Array) => void) | null = null;
  let timer: NodeJS.Timeout | null = null;
  const arrived = new Promise<Offer>((resolve, reject) => {
    onOffer = (from, payload) => {
      if (from !== device || payload.length === 0) return; // an empty retained message is a cleared offer
      try {
        const notice = parsePayload(offerNoticeSchema, payload);
        resolve(offerFromMessage(ctx, device, { v: notice.v, offer: notice.offer, signature: notice.signature }, notice.atMs));
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
