// An offer survives a power cut: the broker runs as a child process, a seller's signed offer is
// accepted (its PUBACK comes only after the service committed it), the seller goes away, and the
// broker is killed with SIGKILL. After a restart on the same data, a buyer that subscribes gets
// the seller's offer, byte for byte, although no seller re-published it: the service served it
// again from its store.
import { describe, expect, it } from 'vitest';
import { DeviceLink } from '../agent/link/link.js';
import { openDatabase } from '../broker/store/sqlite/open-database.js';
import { offerOf } from '../broker/store/sqlite/offers.js';
import { parseAmount } from '../shared/amount.js';
import { sign } from '../shared/crypto.js';
import { toHex } from '../shared/hex.js';
import { encodeOffer } from '../shared/offer.js';
import { offerNoticeSchema, parsePayload, PROTOCOL_VERSION } from '../shared/schemas.js';
import { offerTopic } from '../shared/topics.js';
import { random } from './helpers/broker-fixture.js';
import { childBrokerBed } from './helpers/child-broker.js';

describe('broker crash (SIGKILL) with a stored offer', () => {
  const bed = childBrokerBed('mqpay-offer-crash-', ['charger-1', 'vehicle-1']);
  const connect = (device: string) =>
    DeviceLink.connect({ url: bed.url(), device, secretKey: bed.keysOf(device).secretKey, brokerId: 'mqpay', clock: { nowMs: () => Date.now() }, random, requestTimeoutMs: 10_000 });
  /** The first offer of `seller` a fresh buyer connection receives (the retained one). */
  const offerSeenByBuyer = async (seller: string) => {
    const buyer = await connect('vehicle-1');
    try {
      const arrived = new Promise<Uint8Array>((resolve) => buyer.on('offer', (from: string, payload: Uint8Array) => from === seller && resolve(payload)));
      await buyer.subscribe(offerTopic(seller));
      return parsePayload(offerNoticeSchema, await arrived);
    } finally {
      await buyer.close();
    }
  };

  it('serves the offer again after a restart, without the seller', async () => {
    await bed.start();
    const nowMs = Date.now();
    const bytes = encodeOffer({ seller: 'charger-1', currency: 'EUR', unit: 'kWh', price: parseAmount('0.31'), issuedAtMs: BigInt(nowMs), expiresAtSeconds: BigInt(Math.floor(nowMs / 1000) + 3_600) });
    const message = { v: PROTOCOL_VERSION, offer: toHex(bytes), signature: toHex(sign(bytes, bed.keysOf('charger-1').secretKey)) };
    const seller = await connect('charger-1');
    await seller.publish('offer', message);
    await seller.close();
    expect(await offerSeenByBuyer('charger-1')).toMatchObject({ device: 'charger-1', offer: message.offer, signature: message.signature });

    await bed.kill('SIGKILL');
    const db = openDatabase(bed.dataDir);
    expect(toHex(offerOf(db, 'charger-1')?.offer ?? new Uint8Array())).toBe(message.offer);
    db.close();

    await bed.start();
    expect(await offerSeenByBuyer('charger-1')).toMatchObject({ device: 'charger-1', offer: message.offer, signature: message.signature });
    await bed.kill('SIGTERM');
  });
});
