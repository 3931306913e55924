// Offers: a seller advertises its price as an offer it signed with its own key (shared/offer.ts).
// Devices may not write retained messages or each other's topics, so the service checks the
// offer, stores it through the unit of work and republishes it, retained and exactly as the
// seller signed it, on mqpay/v1/offers/{seller}, which every device may read for a seller it
// names. aedes keeps retained messages in memory only, so on start the service serves every
// stored offer again; a sweep deletes expired offers and clears their retained message.
import { MqpayError } from '../../shared/errors.js';
import { fromHex, toHex } from '../../shared/hex.js';
import { OFFER_ISSUED_AHEAD_MS_MAX, OFFER_LIFETIME_S_MAX, SIGNATURE_BYTES } from '../../shared/limits.js';
import { checkOfferCurrent, OFFER_BYTES, verifiedOffer, type Offer } from '../../shared/offer.js';
import { offerMessageSchema, parsePayload, PROTOCOL_VERSION, type OfferNotice } from '../../shared/schemas.js';
import { secondsOf } from '../../shared/time.js';
import { offerTopic } from '../../shared/topics.js';
import { OFFER_PAGE_MAX, OFFER_SWEEP_INTERVAL_MS } from '../limits.js';
import type { StoredOffer, StoreReads } from '../store/port.js';
import type { ServiceDeps } from './ports.js';
import { payloadOf } from './replies.js';
import type { UnitOfWork } from './unit-of-work.js';

/** An empty retained publish deletes the topic's retained message [MQTT-3.3.1-10]. */
const CLEARED = new Uint8Array(0);

function noticeOf(stored: StoredOffer): Uint8Array {
  const notice: OfferNotice = { v: PROTOCOL_VERSION, device: stored.seller, offer: toHex(stored.offer), signature: toHex(stored.signature), atMs: stored.storedAtMs };
  return payloadOf(notice);
}

/** The service's own bounds on an offer beyond its signature: its currency and its times. */
async function checkTerms(reads: StoreReads, offer: Offer, nowMs: number): Promise<void> {
  checkOfferCurrent(offer, nowMs);
  const currency = await reads.ledgerCurrency();
  if (offer.currency !== currency) throw new MqpayError('CURRENCY_MISMATCH', `offer in ${offer.currency}, ledger in ${currency}`);
  if (offer.issuedAtMs > BigInt(nowMs + OFFER_ISSUED_AHEAD_MS_MAX)) throw new MqpayError('MESSAGE_INVALID', 'offer issued in the future (check the seller\'s clock)');
  if (offer.expiresAtSeconds > secondsOf(nowMs) + BigInt(OFFER_LIFETIME_S_MAX)) throw new MqpayError('MESSAGE_INVALID', `offer runs longer than ${OFFER_LIFETIME_S_MAX} s`);
}

export class OfferDesk {
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: ServiceDeps, private readonly unitOfWork: UnitOfWork) {}

  /** One offer from `device`'s outbox. A refusal is logged with its code; nothing is stored or served. */
  async handle(device: string, payload: Uint8Array): Promise<void> {
    try {
      await this.accept(device, payload);
    } catch (error) {
      if (!(error instanceof MqpayError)) throw error;
      this.deps.logger.info({ device, code: error.code, detail: error.detail }, 'offer refused');
    }
  }

  private async accept(device: string, payload: Uint8Array): Promise<void> {
    const message = parsePayload(offerMessageSchema, payload);
    const bytes = fromHex(message.offer, OFFER_BYTES);
    const signature = fromHex(message.signature, SIGNATURE_BYTES);
    const nowMs = this.deps.clock.nowMs();
    await this.unitOfWork.commit(async (work) => {
      const seller = await work.tx.device(device);
      if (seller === null) throw new MqpayError('DEVICE_UNKNOWN', device);
      if (seller.status !== 'active') throw new MqpayError('DEVICE_DISABLED', device);
      // The sender must be the seller, and the signature the seller's enrolled key's.
      const offer = verifiedOffer(bytes, signature, device, seller.publicKey);
      await checkTerms(work.tx, offer, nowMs);
      const stored: StoredOffer = { seller: device, offer: bytes, signature, issuedAtMs: offer.issuedAtMs, expiresAtSeconds: offer.expiresAtSeconds, storedAtMs: nowMs };
      if (!(await work.tx.putOffer(stored))) {
        // The same offer again (the agent re-publishes after a reconnect) is served again; an
        // older or conflicting one is refused.
        const current = await work.tx.offerOf(device);
        if (current === null || toHex(current.offer) !== message.offer) throw new MqpayError('OFFER_STALE', `issued at ${offer.issuedAtMs}`);
        work.publish({ topic: offerTopic(device), payload: noticeOf(current), retain: true });
        return;
      }
      work.publish({ topic: offerTopic(device), payload: noticeOf(stored), retain: true });
    });
  }

  /**
   * Serves one seller's current offer, if it has one that has not expired: on a transport that
   * keeps no retained messages (RabbitMQ 3.10 across nodes), when a device subscribes to it.
   */
  async serve(seller: string): Promise<boolean> {
    const stored = await this.deps.store.reads.offerOf(seller);
    if (stored === null || stored.expiresAtSeconds <= secondsOf(this.deps.clock.nowMs())) return false;
    await this.deps.transport.publish(offerTopic(seller), noticeOf(stored), { retain: true });
    return true;
  }

  /** Serves every stored offer that has not expired again (after a restart aedes has none). */
  async republish(): Promise<number> {
    const nowSeconds = secondsOf(this.deps.clock.nowMs());
    let served = 0;
    for (let after = ''; ;) {
      const page = await this.deps.store.reads.currentOffers(nowSeconds, after, OFFER_PAGE_MAX);
      for (const stored of page) await this.deps.transport.publish(offerTopic(stored.seller), noticeOf(stored), { retain: true });
      served += page.length;
      if (page.length < OFFER_PAGE_MAX) return served;
      after = page[page.length - 1]?.seller ?? after;
    }
  }

  /** Deletes expired offers and clears their retained messages; returns how many. */
  async sweep(): Promise<number> {
    const nowSeconds = secondsOf(this.deps.clock.nowMs());
    let swept = 0;
    for (;;) {
      const sellers = await this.unitOfWork.commit(async (work) => {
        const expired = await work.tx.deleteExpiredOffers(nowSeconds, OFFER_PAGE_MAX);
        for (const seller of expired) work.publish({ topic: offerTopic(seller), payload: CLEARED, retain: true });
        return expired;
      });
      swept += sellers.length;
      if (sellers.length < OFFER_PAGE_MAX) return swept;
    }
  }

  start(): void {
    if (this.timer !== null) return; // a cluster worker may take the lead again
    const log = (what: string) => (error: unknown) => this.deps.logger.warn({ err: error }, `offers: ${what} failed`);
    this.republish().then((served) => this.deps.logger.info({ served }, 'stored offers served'), log('serving stored offers'));
    this.timer = setInterval(() => void this.sweep().catch(log('sweep')), OFFER_SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
