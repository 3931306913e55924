// Offer: a seller's signed price, "I, seller S, sell UNIT at PRICE micro-units of CURRENCY each,
// from ISSUED until EXPIRES". Signed by the seller device's own key, so a buyer can check it
// without trusting whoever relayed it, and a payment can name it (its digest in the voucher's
// memo). A newer issue time supersedes an older offer of the same seller. Layout (86 bytes):
//   tag "MQPAY-OF" (8) | version (1) | seller id (1+32) | currency (3, ISO 4217 letters)
//   | unit (1+16) | price per unit u64 (micro-units) | issued at u64 (unix ms) | expires at u64 (unix s)
import { amountOf, type Amount } from './amount.js';
import { ByteReader, ByteWriter, domainTag } from './binary.js';
import { sha512, verify } from './crypto.js';
import { isCurrencyCode } from './currency.js';
import { MqpayError } from './errors.js';
import { checkDeviceId } from './ids.js';
import { DEVICE_ID_LENGTH_MAX, MEMO_DIGEST_BYTES, OFFER_QUANTITY_MAX, OFFER_UNIT_LENGTH_MAX, SIGNATURE_BYTES } from './limits.js';

export const OFFER_TAG = domainTag('MQPAY-OF');
export const OFFER_VERSION = 1;
const CURRENCY_BYTES = 3;
export const OFFER_BYTES = 8 + 1 + (1 + DEVICE_ID_LENGTH_MAX) + CURRENCY_BYTES + (1 + OFFER_UNIT_LENGTH_MAX) + 8 + 8 + 8;
/** A payment names its offer by the first 16 bytes of SHA-512 of the offer's signed bytes (the voucher's memo digest). */
export const OFFER_DIGEST_BYTES = MEMO_DIGEST_BYTES;

const UNIT_PATTERN = /^[a-zA-Z0-9_.-]+$/;

export interface Offer {
  readonly seller: string;
  readonly currency: string;
  readonly unit: string;
  /** Price of one unit, micro-units of `currency`; never zero. */
  readonly price: Amount;
  readonly issuedAtMs: bigint;
  readonly expiresAtSeconds: bigint;
}

function checkOfferFields(offer: Offer): void {
  if (!isCurrencyCode(offer.currency)) throw new MqpayError('ENCODING_INVALID', 'offer: currency must be three letters A-Z');
  if (offer.unit.length < 1 || offer.unit.length > OFFER_UNIT_LENGTH_MAX || !UNIT_PATTERN.test(offer.unit)) {
    throw new MqpayError('ENCODING_INVALID', `offer: unit must be 1-${OFFER_UNIT_LENGTH_MAX} of [a-zA-Z0-9_.-]`);
  }
  if (offer.price === 0n) throw new MqpayError('ENCODING_INVALID', 'offer: price must be greater than zero');
  // An offer that expires before it is issued can never be paid: refused as malformed.
  if (offer.expiresAtSeconds * 1000n <= offer.issuedAtMs) throw new MqpayError('ENCODING_INVALID', 'offer: expires before it is issued');
}

export function encodeOffer(offer: Offer): Uint8Array {
  checkOfferFields(offer);
  return new ByteWriter(OFFER_BYTES)
    .raw(OFFER_TAG, 8)
    .u8(OFFER_VERSION)
    .text(checkDeviceId(offer.seller), DEVICE_ID_LENGTH_MAX)
    .raw(Uint8Array.from(offer.currency, (c) => c.charCodeAt(0)), CURRENCY_BYTES)
    .text(offer.unit, OFFER_UNIT_LENGTH_MAX)
    .u64(amountOf(offer.price))
    .u64(offer.issuedAtMs)
    .u64(offer.expiresAtSeconds)
    .finish();
}

export function decodeOffer(bytes: Uint8Array): Offer {
  const reader = new ByteReader(bytes, OFFER_BYTES, 'offer');
  reader.header(OFFER_TAG, OFFER_VERSION, 'offer');
  const seller = checkDeviceId(reader.text(DEVICE_ID_LENGTH_MAX, 'offer seller'));
  const currency = String.fromCharCode(...reader.raw(CURRENCY_BYTES));
  const unit = reader.text(OFFER_UNIT_LENGTH_MAX, 'offer unit');
  const price = amountOf(reader.u64());
  const issuedAtMs = reader.u64();
  const expiresAtSeconds = reader.u64();
  reader.end('offer');
  const offer = { seller, currency, unit, price, issuedAtMs, expiresAtSeconds };
  checkOfferFields(offer);
  return offer;
}

/** The 16 bytes that name an offer in a payment: SHA-512 of its signed bytes, truncated. */
export function offerDigestOf(bytes: Uint8Array): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== OFFER_BYTES) throw new MqpayError('ENCODING_INVALID', `offer: expected ${OFFER_BYTES} bytes`);
  return sha512(bytes).slice(0, OFFER_DIGEST_BYTES);
}

/**
 * Decodes an offer and checks it is the seller's own: signed by `sellerKey`, naming `seller`.
 * SIGNATURE_INVALID for a forged or tampered offer, OFFER_SELLER_MISMATCH for another seller's.
 */
export function verifiedOffer(bytes: Uint8Array, signature: Uint8Array, seller: string, sellerKey: Uint8Array): Offer {
  const offer = decodeOffer(bytes);
  if (offer.seller !== seller) throw new MqpayError('OFFER_SELLER_MISMATCH', `offer of ${offer.seller}, expected ${seller}`);
  if (signature.length !== SIGNATURE_BYTES || !verify(signature, bytes, sellerKey)) throw new MqpayError('SIGNATURE_INVALID', `offer of ${seller}`);
  return offer;
}

/** OFFER_EXPIRED once the offer's expiry (unix seconds) is not after `nowMs`. */
export function checkOfferCurrent(offer: Offer, nowMs: number): void {
  if (offer.expiresAtSeconds * 1000n <= BigInt(nowMs)) throw new MqpayError('OFFER_EXPIRED', `offer of ${offer.seller} expired at ${offer.expiresAtSeconds}`);
}

/**
 * What `quantity` units of an offer cost: price x quantity, exactly. A quantity outside
 * [1, OFFER_QUANTITY_MAX] is MESSAGE_INVALID; a product past u64 is AMOUNT_OVERFLOW, never a wrap
 * [docs/DESIGN.md rule 1].
 */
export function offerCost(offer: Pick<Offer, 'price'>, quantity: bigint): Amount {
  if (typeof quantity !== 'bigint' || quantity < 1n || quantity > OFFER_QUANTITY_MAX) {
    throw new MqpayError('MESSAGE_INVALID', `quantity must be an integer in [1, ${OFFER_QUANTITY_MAX}]`);
  }
  return amountOf(offer.price * quantity);
}
