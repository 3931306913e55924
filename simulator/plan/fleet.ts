// A seeded fleet: which devices exist, what they sell at what price, whom each buyer deals
// with, and the rogue devices among them. Pure: same seed and sizes, same fleet.
import type { Amount } from '../../shared/amount.js';
import {
  BUYER_MONEY, CHARGER_POWERS_W, ENERGY_PRICE_PER_WH, GROCERIES, KIND_WEIGHTS, PARKING_PRICE_PER_HOUR, READING_PRICE, ROGUE_DEPOSIT,
  ROGUE_FUNDING, SELLER_FUNDING, TOLL_PRICE, type BuyerKind, type DeviceKind, type SellerKind,
} from './kinds.js';
import type { Prng } from './prng.js';

export interface Offer {
  readonly unit: string;
  readonly price: Amount;
}

export interface SellerPlan {
  readonly role: 'seller';
  readonly id: string;
  readonly kind: SellerKind;
  readonly funding: Amount;
  /** Dispensers name their item as the unit ("milk"); chargers sell "Wh", sensors "reading". */
  readonly offer: Offer;
  /** EV chargers only: delivered power in watts (a multiple of 3,600 W); 0n otherwise. */
  readonly powerW: bigint;
}

export interface BuyerPlan {
  readonly role: 'buyer';
  readonly id: string;
  readonly kind: BuyerKind;
  readonly funding: Amount;
  readonly deposit: Amount;
  readonly topupBelow: Amount;
  /** Sellers (honest or rogue) this buyer deals with. */
  readonly suppliers: readonly string[];
}

/** A malicious device: poses as a sensor that data buyers pay, pays one honest seller, attacks. */
export interface RoguePlan {
  readonly role: 'rogue';
  readonly id: string;
  readonly kind: 'sensor';
  readonly funding: Amount;
  readonly deposit: Amount;
  readonly offer: Offer;
  /** The honest seller it opens a channel to (and tries to cheat). */
  readonly victim: string;
  /** The honest device whose id it tries to log in with. */
  readonly impersonates: string;
}

export type DevicePlan = SellerPlan | BuyerPlan | RoguePlan;

export interface Fleet {
  readonly devices: readonly DevicePlan[];
  readonly byId: ReadonlyMap<string, DevicePlan>;
}

/** Fleets of up to 8 honest devices, in an order that keeps buyers next to their sellers. */
const GUARANTEED: readonly DeviceKind[] = ['vehicle', 'ev-charger', 'data-buyer', 'sensor', 'fridge', 'grocery-dispenser', 'toll-gate', 'parking-meter'];

const isSeller = (kind: DeviceKind): kind is SellerKind => kind === 'ev-charger' || kind === 'grocery-dispenser' || kind === 'toll-gate' || kind === 'parking-meter' || kind === 'sensor';

/**
 * The kinds of an honest fleet: tiny fleets take GUARANTEED in order; larger ones get every
 * kind in proportion to its weight (largest remainder, at least one each), in a seeded order.
 */
function composition(rng: Prng, honest: number): DeviceKind[] {
  if (honest <= GUARANTEED.length) return GUARANTEED.slice(0, honest);
  const totalWeight = KIND_WEIGHTS.reduce((sum, [, weight]) => sum + weight, 0);
  const shares = KIND_WEIGHTS.map(([kind, weight]) => ({ kind, count: Math.max(1, Math.floor((honest * weight) / totalWeight)), rest: (honest * weight) % totalWeight }));
  let missing = honest - shares.reduce((sum, share) => sum + share.count, 0);
  for (const share of [...shares].sort((a, b) => b.rest - a.rest)) {
    if (missing <= 0) break;
    share.count += 1;
    missing -= 1;
  }
  for (const share of [...shares].sort((a, b) => b.count - a.count)) {
    while (missing < 0 && share.count > 1) {
      share.count -= 1;
      missing += 1;
    }
  }
  return rng.shuffle(shares.flatMap((share) => Array.from({ length: share.count }, () => share.kind)));
}

function offerOf(rng: Prng, kind: SellerKind): { offer: Offer; powerW: bigint } {
  switch (kind) {
    case 'ev-charger':
      return { offer: { unit: 'Wh', price: rng.microBetween(ENERGY_PRICE_PER_WH.min, ENERGY_PRICE_PER_WH.max, ENERGY_PRICE_PER_WH.step) }, powerW: rng.pick(CHARGER_POWERS_W) };
    case 'grocery-dispenser':
    {
      const item = rng.pick(GROCERIES);
      return { offer: { unit: item.name, price: item.price }, powerW: 0n };
    }
    case 'toll-gate':
      return { offer: { unit: 'pass', price: rng.microBetween(TOLL_PRICE.min, TOLL_PRICE.max, TOLL_PRICE.step) }, powerW: 0n };
    case 'parking-meter':
      return { offer: { unit: 'hour', price: rng.microBetween(PARKING_PRICE_PER_HOUR.min, PARKING_PRICE_PER_HOUR.max, PARKING_PRICE_PER_HOUR.step) }, powerW: 0n };
    case 'sensor':
      return { offer: { unit: 'reading', price: rng.microBetween(READING_PRICE.min, READING_PRICE.max, READING_PRICE.step) }, powerW: 0n };
  }
}

/** The seller kinds each buyer kind deals with, and how many of each it uses. */
const SUPPLY: Readonly<Record<BuyerKind, readonly (readonly [SellerKind, number, number])[]>> = {
  vehicle: [['ev-charger', 1, 3], ['toll-gate', 1, 2], ['parking-meter', 1, 2]],
  fridge: [['grocery-dispenser', 1, 2]],
  'data-buyer': [['sensor', 1, 4]],
};

function suppliersOf(rng: Prng, kind: BuyerKind, sellers: readonly SellerPlan[]): string[] {
  const chosen: string[] = [];
  for (const [sellerKind, min, max] of SUPPLY[kind]) {
    const candidates = sellers.filter((seller) => seller.kind === sellerKind).map((seller) => seller.id);
    chosen.push(...rng.sample(candidates, rng.int(min, max)));
  }
  return chosen;
}

const idOf = (kind: string, number: number, width: number): string => `${kind}-${String(number).padStart(width, '0')}`;

function honestDevices(rng: Prng, honest: number): { sellers: SellerPlan[]; buyers: BuyerPlan[] } {
  const counters = new Map<DeviceKind, number>();
  const kinds = composition(rng.fork('composition'), honest);
  const sellers: SellerPlan[] = [];
  const buyerKinds: { id: string; kind: BuyerKind }[] = [];
  for (const kind of kinds) {
    const number = (counters.get(kind) ?? 0) + 1;
    counters.set(kind, number);
    const id = idOf(kind, number, 3);
    if (isSeller(kind)) sellers.push({ role: 'seller', id, kind, funding: SELLER_FUNDING, ...offerOf(rng.fork(`offer:${id}`), kind) });
    else buyerKinds.push({ id, kind });
  }
  const buyers = buyerKinds.map(({ id, kind }): BuyerPlan => ({
    role: 'buyer', id, kind, ...BUYER_MONEY[kind], suppliers: suppliersOf(rng.fork(`suppliers:${id}`), kind, sellers),
  }));
  return { sellers, buyers };
}

function rogues(rng: Prng, count: number, sellers: readonly SellerPlan[], buyers: readonly BuyerPlan[]): RoguePlan[] {
  const honestIds = [...sellers, ...buyers].map((device) => device.id);
  return Array.from({ length: count }, (_, i): RoguePlan => {
    const id = idOf('rogue-sensor', i + 1, 2);
    const own = rng.fork(`rogue:${id}`);
    return {
      role: 'rogue', id, kind: 'sensor', funding: ROGUE_FUNDING, deposit: ROGUE_DEPOSIT,
      offer: { unit: 'reading', price: own.microBetween(READING_PRICE.min, READING_PRICE.max, READING_PRICE.step) },
      victim: own.pick(sellers).id,
      impersonates: own.pick(honestIds),
    };
  });
}

/** Every rogue gets at least one data buyer as a customer, so it sees vouchers it could replay. */
function withRogueCustomers(rng: Prng, buyers: BuyerPlan[], rogueList: readonly RoguePlan[]): BuyerPlan[] {
  const dataBuyers = buyers.filter((buyer) => buyer.kind === 'data-buyer');
  if (dataBuyers.length === 0) return buyers;
  const extra = new Map<string, string[]>();
  for (const rogue of rogueList) {
    for (const customer of rng.sample(dataBuyers, Math.max(1, Math.ceil(dataBuyers.length / 10)))) {
      extra.set(customer.id, [...(extra.get(customer.id) ?? []), rogue.id]);
    }
  }
  return buyers.map((buyer) => ({ ...buyer, suppliers: [...buyer.suppliers, ...(extra.get(buyer.id) ?? [])] }));
}

export function buildFleet(rng: Prng, devices: number, malicious: number): Fleet {
  if (!Number.isInteger(devices) || devices < 2) throw new Error('a fleet needs at least 2 devices');
  if (!Number.isInteger(malicious) || malicious < 0 || malicious > devices - 2) throw new Error('at least 2 devices of a fleet must be honest');
  const { sellers, buyers } = honestDevices(rng.fork('honest'), devices - malicious);
  const rogueList = rogues(rng.fork('rogues'), malicious, sellers, buyers);
  const all: DevicePlan[] = [...sellers, ...withRogueCustomers(rng.fork('rogue-customers'), buyers, rogueList), ...rogueList];
  return { devices: all, byId: new Map(all.map((device) => [device.id, device])) };
}
