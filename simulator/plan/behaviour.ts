// What each buyer does, as an endless, seeded sequence of actions with planned start times:
//  - a vehicle charges at one of its EV chargers (streaming payment each second while the
//    energy flows), drives through toll gates (one payment, waiting for the gate's receipt),
//    and parks at parking meters (streaming per-second parking fees);
//  - a fridge restocks from its grocery dispensers (one payment per purchase);
//  - a data buyer buys readings from its sensors (one payment per batch of readings).
// Planned times are offsets from the start of the run; a device that falls behind (a slow
// payment, a broker outage) starts its next action late, never two at once.
import { amountOf, type Amount } from '../../shared/amount.js';
import type { BuyerPlan, Fleet, SellerPlan } from './fleet.js';
import { SECONDS_PER_HOUR, WATTS_PER_WH_PER_SECOND, type SellerKind } from './kinds.js';
import type { Prng } from './prng.js';

export interface StreamAction {
  readonly kind: 'stream';
  readonly purpose: 'charging' | 'parking';
  readonly atMs: number;
  readonly seller: string;
  readonly amountPerSecond: Amount;
  readonly intervalMs: number;
  readonly durationMs: number;
}

export interface PayAction {
  readonly kind: 'pay';
  readonly purpose: 'toll' | 'groceries' | 'readings';
  readonly atMs: number;
  readonly seller: string;
  readonly amount: Amount;
  readonly memo: string;
  /** Wait for the seller's signed receipt (a toll gate opens on it). */
  readonly receipt: boolean;
}

export type Action = StreamAction | PayAction;

/** Timings in ms; `intensity` divides the gaps between actions (benchmarks raise it). */
const TIMING = {
  startSpreadMs: 3_000,
  charge: { minMs: 10_000, maxMs: 40_000, intervalMs: 1_000 },
  park: { minMs: 8_000, maxMs: 30_000, intervalMs: 2_000 },
  vehicleGap: { minMs: 1_000, maxMs: 5_000 },
  fridgeGap: { minMs: 4_000, maxMs: 15_000 },
  readingsGap: { minMs: 1_000, maxMs: 4_000 },
} as const;

export function chargingRate(charger: SellerPlan): Amount {
  return amountOf((charger.powerW / WATTS_PER_WH_PER_SECOND) * charger.offer.price);
}

export function parkingRate(meter: SellerPlan): Amount {
  return amountOf(meter.offer.price / SECONDS_PER_HOUR);
}

function sellersOf(buyer: BuyerPlan, fleet: Fleet, kind: SellerKind): SellerPlan[] {
  return buyer.suppliers.map((id) => fleet.byId.get(id)).filter((d): d is SellerPlan => d?.role === 'seller' && d.kind === kind);
}

/** Rogue "sensors" sell readings like honest ones; data buyers cannot tell them apart. */
function readingSellers(buyer: BuyerPlan, fleet: Fleet): { id: string; price: Amount }[] {
  const sellers: { id: string; price: Amount }[] = [];
  for (const id of buyer.suppliers) {
    const device = fleet.byId.get(id);
    if (device !== undefined && device.role !== 'buyer' && device.kind === 'sensor') sellers.push({ id, price: device.offer.price });
  }
  return sellers;
}

function vehicleAction(rng: Prng, buyer: BuyerPlan, fleet: Fleet, atMs: number): Action | null {
  const chargers = sellersOf(buyer, fleet, 'ev-charger');
  const gates = sellersOf(buyer, fleet, 'toll-gate');
  const meters = sellersOf(buyer, fleet, 'parking-meter');
  const options: [string, number][] = [];
  if (chargers.length > 0) options.push(['charge', 35]);
  if (gates.length > 0) options.push(['toll', 35]);
  if (meters.length > 0) options.push(['park', 30]);
  if (options.length === 0) return null;
  const choice = rng.weighted(options);
  if (choice === 'toll') {
    const gate = rng.pick(gates);
    return { kind: 'pay', purpose: 'toll', atMs, seller: gate.id, amount: gate.offer.price, memo: 'toll pass', receipt: true };
  }
  const charging = choice === 'charge';
  const seller = rng.pick(charging ? chargers : meters);
  const timing = charging ? TIMING.charge : TIMING.park;
  return {
    kind: 'stream', purpose: charging ? 'charging' : 'parking', atMs, seller: seller.id, amountPerSecond: charging ? chargingRate(seller) : parkingRate(seller),
    intervalMs: timing.intervalMs, durationMs: rng.int(timing.minMs, timing.maxMs),
  };
}

function fridgeAction(rng: Prng, buyer: BuyerPlan, fleet: Fleet, atMs: number): Action | null {
  const dispensers = sellersOf(buyer, fleet, 'grocery-dispenser');
  if (dispensers.length === 0) return null;
  const dispenser = rng.pick(dispensers);
  const quantity = rng.int(1, 3);
  return { kind: 'pay', purpose: 'groceries', atMs, seller: dispenser.id, amount: amountOf(dispenser.offer.price * BigInt(quantity)), memo: `${quantity} x ${dispenser.offer.unit}`, receipt: false };
}

function readingsAction(rng: Prng, buyer: BuyerPlan, fleet: Fleet, atMs: number): Action | null {
  const sensors = readingSellers(buyer, fleet);
  if (sensors.length === 0) return null;
  const sensor = rng.pick(sensors);
  const count = rng.int(1, 5);
  return { kind: 'pay', purpose: 'readings', atMs, seller: sensor.id, amount: amountOf(sensor.price * BigInt(count)), memo: `${count} readings`, receipt: false };
}

function gapOf(rng: Prng, buyer: BuyerPlan, intensity: number): number {
  const gap = buyer.kind === 'vehicle' ? TIMING.vehicleGap : buyer.kind === 'fridge' ? TIMING.fridgeGap : TIMING.readingsGap;
  return Math.max(1, Math.round(rng.int(gap.minMs, gap.maxMs) / intensity));
}

/** The buyer's endless schedule; the same rng state gives the same sequence. */
export function* buyerActions(rng: Prng, buyer: BuyerPlan, fleet: Fleet, intensity = 1): Generator<Action, void, void> {
  const next = buyer.kind === 'vehicle' ? vehicleAction : buyer.kind === 'fridge' ? fridgeAction : readingsAction;
  let atMs = rng.int(0, TIMING.startSpreadMs);
  for (;;) {
    const action = next(rng, buyer, fleet, atMs);
    if (action === null) return;
    yield action;
    atMs += (action.kind === 'stream' ? action.durationMs : 0) + gapOf(rng, buyer, intensity);
  }
}
