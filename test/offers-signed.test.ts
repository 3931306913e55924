// Payee-signed offers through a real broker (aedes on loopback, SQLite in a temp dir, real
// agents): the service serves only offers the seller signed with its enrolled key, in the
// ledger's currency, unexpired and newer than the one it holds; it serves stored offers again
// after a restart and drops expired ones; the seller's agent signs its offer afresh after every
// reconnect; and a buyer pays exactly price x quantity against an offer it checked, the offer's
// digest in the voucher's memo, which the seller sees with the payment.
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Agent } from '../agent/agent-api.js';
import type { ReceivedPayment } from '../agent/types.js';
import { loadAgentHome } from '../agent/home/home.js';
import { walletAccount } from '../broker/store/accounts.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { balanceOf } from '../broker/store/sqlite/ledger.js';
import { offerOf } from '../broker/store/sqlite/offers.js';
import { addAmount, parseAmount, type Amount } from '../shared/amount.js';
import { sign } from '../shared/crypto.js';
import { fromHex, toHex } from '../shared/hex.js';
import { channelIdFromHex } from '../shared/ids.js';
import { generateKeyPair, type KeyPair } from '../shared/keys.js';
import { encodeOffer, offerDigestOf, type Offer } from '../shared/offer.js';
import { PROTOCOL_VERSION, type OfferMessage } from '../shared/schemas.js';
import { decodeVoucher } from '../shared/voucher.js';
import { AgentBed, NETWORK_POLL } from './helpers/agent-fixture.js';
import { random, startBroker, tempDir, type RunningBroker } from './helpers/broker-fixture.js';
import { runCli } from './helpers/ops-cli.js';

const HOUR_S = 3_600n;

function offerTerms(seller: string, nowMs: number, overrides: Partial<Offer> = {}): Offer {
  return { seller, currency: 'EUR', unit: 'kWh', price: parseAmount('0.25'), issuedAtMs: BigInt(nowMs), expiresAtSeconds: BigInt(Math.floor(nowMs / 1000)) + HOUR_S, ...overrides };
}

function signedOffer(keys: KeyPair, terms: Offer): OfferMessage {
  const bytes = encodeOffer(terms);
  return { v: PROTOCOL_VERSION, offer: toHex(bytes), signature: toHex(sign(bytes, keys.secretKey)) };
}

/** The offer bytes with one byte changed, under the original signature: a tampered offer. */
function tampered(message: OfferMessage, at: number, value: number): OfferMessage {
  const bytes = fromHex(message.offer);
  bytes[at] = value;
  return { ...message, offer: toHex(bytes) };
}

/** What aedes holds retained on a seller's offers topic: what any buyer that subscribes gets. */
async function retainedOffer(broker: RunningBroker, seller: string): Promise<Record<string, unknown> | null> {
  const packets: { payload: Buffer }[] = [];
  const { persistence } = broker.app.mqtt.aedes as unknown as { persistence: { createRetainedStream(pattern: string): AsyncIterable<{ payload: Buffer }> } };
  for await (const packet of persistence.createRetainedStream(`mqpay/v1/offers/${seller}`)) packets.push(packet);
  const payload = packets[0]?.payload;
  return payload === undefined || payload.length === 0 ? null : (JSON.parse(payload.toString()) as Record<string, unknown>);
}

function capturedLog(): { logger: pino.Logger; refusals: () => string[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (text: string) => void lines.push(JSON.parse(text) as Record<string, unknown>) });
  return { logger, refusals: () => lines.filter((line) => line.msg === 'offer refused').map((line) => String(line.code)) };
}

describe('payee-signed offers', () => {
  let broker: RunningBroker | null = null;
  let bed: AgentBed | null = null;
  const dirs: { remove(): void }[] = [];
  afterEach(async () => {
    await bed?.cleanup();
    await broker?.stop();
    for (const dir of dirs.splice(0)) dir.remove();
    bed = null;
    broker = null;
  });

  it('refuses forged, foreign, tampered, other-currency, expired and stale offers, and serves only the seller\'s own', async () => {
    const log = capturedLog();
    broker = await startBroker({}, undefined, { logger: log.logger });
    const sellerKeys = broker.enrol('seller-1');
    const otherKeys = broker.enrol('seller-2');
    const seller = await broker.link('seller-1', sellerKeys);
    const nowMs = Date.now();
    const good = signedOffer(sellerKeys, offerTerms('seller-1', nowMs));

    await seller.publish('offer', signedOffer(generateKeyPair(random), offerTerms('seller-1', nowMs))); // a key that is not seller-1's
    await seller.publish('offer', signedOffer(otherKeys, offerTerms('seller-2', nowMs))); // seller-2's own offer, sent by seller-1
    await seller.publish('offer', tampered(good, 69, 0xff)); // price changed after signing
    await seller.publish('offer', signedOffer(sellerKeys, offerTerms('seller-1', nowMs, { currency: 'USD' })));
    await seller.publish('offer', signedOffer(sellerKeys, offerTerms('seller-1', nowMs - 7_200_000, { expiresAtSeconds: BigInt(Math.floor(nowMs / 1000)) - 1n })));
    await seller.publish('offer', { v: PROTOCOL_VERSION, unit: 'Wh', price: '0.000125' }); // the unsigned v2 form
    // Each publish is acknowledged only after the service handled it: nothing was stored or served.
    expect(offerOf(broker.app.db, 'seller-1')).toBeNull();
    expect(await retainedOffer(broker, 'seller-1')).toBeNull();
    expect(await retainedOffer(broker, 'seller-2')).toBeNull();

    await seller.publish('offer', good);
    expect(await retainedOffer(broker, 'seller-1')).toMatchObject({ v: PROTOCOL_VERSION, device: 'seller-1', offer: good.offer, signature: good.signature });
    await seller.publish('offer', signedOffer(sellerKeys, offerTerms('seller-1', nowMs - 1, { price: parseAmount('0.01') }))); // older
    await seller.publish('offer', good); // the same offer again changes nothing
    expect(await retainedOffer(broker, 'seller-1')).toMatchObject({ offer: good.offer });
    expect(toHex(offerOf(broker.app.db, 'seller-1')?.offer ?? new Uint8Array())).toBe(good.offer);
    expect(log.refusals()).toEqual(['SIGNATURE_INVALID', 'OFFER_SELLER_MISMATCH', 'SIGNATURE_INVALID', 'CURRENCY_MISMATCH', 'OFFER_EXPIRED', 'MESSAGE_INVALID', 'OFFER_STALE']);
  });

  it('serves stored offers again after a restart, but not expired ones, and the sweep clears them', async () => {
    const dir = tempDir('mqpay-offers-');
    dirs.push(dir);
    let nowMs = Date.now();
    const clock = { nowMs: () => nowMs };
    broker = await startBroker({}, dir.path, { clock });
    const lastingKeys = broker.enrol('lasting-1');
    const briefKeys = broker.enrol('brief-1');
    const lasting = signedOffer(lastingKeys, offerTerms('lasting-1', nowMs));
    const brief = signedOffer(briefKeys, offerTerms('brief-1', nowMs, { expiresAtSeconds: BigInt(Math.floor(nowMs / 1000)) + 60n }));
    await (await broker.link('lasting-1', lastingKeys)).publish('offer', lasting);
    await (await broker.link('brief-1', briefKeys)).publish('offer', brief);
    expect(await retainedOffer(broker, 'brief-1')).toMatchObject({ offer: brief.offer });
    await broker.stop();

    nowMs += 120_000; // the brief offer ran out while the broker was down
    broker = await startBroker({}, dir.path, { clock });
    await expect.poll(() => retainedOffer(broker as RunningBroker, 'lasting-1'), NETWORK_POLL).toMatchObject({ offer: lasting.offer });
    expect(await retainedOffer(broker, 'brief-1')).toBeNull();
    expect(await broker.app.service.sweepOffers()).toBe(1);
    expect(offerOf(broker.app.db, 'brief-1')).toBeNull();
    expect(offerOf(broker.app.db, 'lasting-1')).not.toBeNull();

    // An offer that runs out while the broker runs: the sweep deletes it and clears what is served.
    nowMs += Number(HOUR_S) * 1000;
    expect(await broker.app.service.sweepOffers()).toBe(1);
    expect(await retainedOffer(broker, 'lasting-1')).toBeNull();
  });

  it('the seller\'s agent signs its offer and signs it afresh after a reconnect', async () => {
    const dir = tempDir('mqpay-offers-');
    dirs.push(dir);
    broker = await startBroker({}, dir.path);
    const mqttPort = broker.mqttPort;
    bed = new AgentBed(broker);
    const seller = await bed.agent('charger-1');
    const buyer = await bed.agent('car-1');
    const published = await seller.offer({ unit: 'kWh', price: '0.25' });
    expect(published).toMatchObject({ device: 'charger-1', currency: 'EUR', unit: 'kWh', price: 250_000n });
    const first = await buyer.readOffer('charger-1');
    expect(first.digest).toBe(published.digest);
    expect(toHex(offerDigestOf(fromHex(first.message.offer)))).toBe(first.digest);

    // The broker restarts on the same port and data; both agents reconnect by themselves.
    await broker.stop();
    const reconnected = new Promise<void>((resolve) => {
      const off = seller.onConnection((up) => {
        if (up) {
          off();
          resolve();
        }
      });
    });
    broker = await startBroker({ mqttPort }, dir.path);
    await reconnected;
    // A later issue time than the stored offer's: the agent signed and sent it again.
    await expect.poll(async () => (await buyer.readOffer('charger-1')).issuedAtMs > first.issuedAtMs, NETWORK_POLL).toBe(true);
  });

  describe('paying against an offer', () => {
    /** A running seller, and a buyer's home (the CLI opens it itself; the library test starts it). */
    async function market(): Promise<{ seller: Agent; buyerHome: string; sellerKeys: KeyPair }> {
      broker = await startBroker();
      bed = new AgentBed(broker);
      const sellerHome = bed.home('charger-2');
      const buyerHome = bed.home('car-2', { funds: '100', config: { channel: { deposit: '10' } } });
      return { seller: await bed.start(sellerHome), buyerHome, sellerKeys: loadAgentHome(sellerHome).keys };
    }

    it('agent pay --offer --quantity charges price x quantity exactly, and the voucher names the offer', async () => {
      const { seller, buyerHome } = await market();
      const offer = await seller.offer({ unit: 'kWh', price: '0.123457' });
      const run = await runCli(['agent', 'pay', 'charger-2', '--offer', '--quantity', '7', '--home', buyerHome, '--broker', (broker as RunningBroker).url, '--json']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const paid = JSON.parse(run.stdout) as { channel: string; amount: string; offer: { digest: string; quantity: string; price: string } };
      expect(paid).toMatchObject({ amount: '0.864199', offer: { digest: offer.digest, quantity: '7', price: '0.123457' } });

      const db = (broker as RunningBroker).app.db;
      const channel = getChannel(db, channelIdFromHex(paid.channel));
      expect(channel?.latestTotal).toBe(123_457n * 7n);
      expect(toHex(decodeVoucher(channel?.latestVoucher ?? new Uint8Array()).memoDigest ?? new Uint8Array())).toBe(offer.digest);
      const before = balanceOf(db, walletAccount('charger-2')) ?? (0n as Amount);
      await (broker as RunningBroker).app.service.settleNow();
      const fee = balanceOf(db, 'fees') ?? (0n as Amount);
      expect(addAmount(balanceOf(db, walletAccount('charger-2')) ?? (0n as Amount), fee) - before).toBe(864_199n);
    });

    it('refuses forged, foreign, tampered and expired offers before signing anything, and overflowing quantities', async () => {
      const { seller, buyerHome, sellerKeys } = await market();
      const buyer = await (bed as AgentBed).start(buyerHome);
      const published = await seller.offer({ unit: 'kWh', price: '0.25' });
      const good = published.message;
      const received: ReceivedPayment[] = [];
      seller.onPayment((payment) => void received.push(payment));
      // No channel yet: the buyer learns the seller's key from the certificate of the channel it opens.
      const forged = signedOffer(generateKeyPair(random), offerTerms('charger-2', Date.now()));
      await expect(buyer.payOffer('charger-2', { quantity: 1, offer: forged })).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
      await expect(buyer.payOffer('charger-2', { quantity: 1, offer: tampered(good, 69, 0x01) })).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
      const elsewhere = signedOffer(sellerKeys, offerTerms('charger-9', Date.now()));
      await expect(buyer.payOffer('charger-2', { quantity: 1, offer: elsewhere })).rejects.toMatchObject({ code: 'OFFER_SELLER_MISMATCH' });
      const nowMs = Date.now();
      const expired = signedOffer(sellerKeys, offerTerms('charger-2', nowMs - 7_200_000, { expiresAtSeconds: BigInt(Math.floor(nowMs / 1000)) - 1n }));
      await expect(buyer.payOffer('charger-2', { quantity: 1, offer: expired })).rejects.toMatchObject({ code: 'OFFER_EXPIRED' });
      const dear = signedOffer(sellerKeys, offerTerms('charger-2', Date.now(), { price: parseAmount('18446744073709.551615') }));
      await expect(buyer.payOffer('charger-2', { quantity: 2, offer: dear })).rejects.toMatchObject({ code: 'AMOUNT_OVERFLOW' });
      await expect(buyer.payOffer('charger-2', { quantity: 0, offer: good })).rejects.toMatchObject({ code: 'MESSAGE_INVALID' });
      expect(buyer.channels().paying.every((channel) => channel.signedSeq === '0')).toBe(true);

      // The seller's real offer, handed over directly, pays: 3 x 0.25.
      const payment = await buyer.payOffer('charger-2', { quantity: 3n, offer: good });
      expect(payment).toMatchObject({ amount: 750_000n, quantity: 3n, offer: { sellerKeyChecked: true } });
      await expect.poll(() => getChannel((broker as RunningBroker).app.db, channelIdFromHex(payment.channel))?.latestTotal, NETWORK_POLL).toBe(750_000n);
      // The seller sees which offer it was paid for: the voucher's memo digest is the offer's.
      await expect.poll(() => received.length, NETWORK_POLL).toBe(1);
      expect(received[0]).toMatchObject({ amount: 750_000n, memoDigest: published.digest });
    });
  });
});
