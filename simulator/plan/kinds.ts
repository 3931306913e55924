// The device kinds of a simulated fleet, with believable prices. Every price is bigint
// micro-units (1 unit = 10^6 micro); rates per second are exact integers by construction:
//  - EV chargers sell energy per Wh. Their power is a multiple of 3.6 kW, which is exactly
//    1 Wh per second, so a vehicle streams power/3600 x price-per-Wh micro-units each second.
//  - Parking meters price per hour in multiples of 3,600 micro, so a second costs whole micro-units.
//  - Grocery dispensers sell items; toll gates charge per pass; sensors sell readings.
import type { Amount } from '../../shared/amount.js';
import { amountOf } from '../../shared/amount.js';
import { MICRO_PER_UNIT } from '../../shared/limits.js';

export const SELLER_KINDS = ['ev-charger', 'grocery-dispenser', 'toll-gate', 'parking-meter', 'sensor'] as const;
export const BUYER_KINDS = ['vehicle', 'fridge', 'data-buyer'] as const;
export type SellerKind = (typeof SELLER_KINDS)[number];
export type BuyerKind = (typeof BUYER_KINDS)[number];
export type DeviceKind = SellerKind | BuyerKind;

/** Share of an honest fleet per kind, in percent (every kind gets at least one device). */
export const KIND_WEIGHTS: readonly (readonly [DeviceKind, number])[] = [
  ['ev-charger', 9], ['grocery-dispenser', 7], ['toll-gate', 4], ['parking-meter', 6], ['sensor', 14],
  ['vehicle', 30], ['fridge', 14], ['data-buyer', 16],
];

export const units = (whole: bigint): Amount => amountOf(whole * MICRO_PER_UNIT);
export const micro = (value: bigint): Amount => amountOf(value);

/** One watt-hour per second, in watts: a charger of k x this power delivers k Wh each second. */
export const WATTS_PER_WH_PER_SECOND = 3_600n;
export const CHARGER_POWERS_W: readonly bigint[] = [7_200n, 10_800n, 21_600n];
/** 0.00020 - 0.00045 per Wh (0.20 - 0.45 per kWh). */
export const ENERGY_PRICE_PER_WH = { min: 200n, max: 450n, step: 5n } as const;
/** 1.80 - 3.60 per hour in steps of 0.18, a multiple of 0.0036, so a second costs whole micro-units. */
export const PARKING_PRICE_PER_HOUR = { min: 1_800_000n, max: 3_600_000n, step: 3_600n * 50n } as const;
export const SECONDS_PER_HOUR = 3_600n;
/** 1.20 - 4.80 per pass. */
export const TOLL_PRICE = { min: 1_200_000n, max: 4_800_000n, step: 100_000n } as const;
/** 0.0002 - 0.0015 per reading. */
export const READING_PRICE = { min: 200n, max: 1_500n, step: 50n } as const;

export interface GroceryItem {
  readonly name: string;
  readonly price: Amount;
}

export const GROCERIES: readonly GroceryItem[] = [
  { name: 'milk', price: micro(1_290_000n) },
  { name: 'eggs', price: micro(2_490_000n) },
  { name: 'butter', price: micro(1_990_000n) },
  { name: 'cheese', price: micro(3_490_000n) },
  { name: 'yoghurt', price: micro(890_000n) },
  { name: 'juice', price: micro(2_190_000n) },
];

/** What each buyer kind is funded with, and how its channels are sized. */
export const BUYER_MONEY: Readonly<Record<BuyerKind, { funding: Amount; deposit: Amount; topupBelow: Amount }>> = {
  vehicle: { funding: units(500n), deposit: units(5n), topupBelow: units(1n) },
  fridge: { funding: units(300n), deposit: units(10n), topupBelow: units(2n) },
  'data-buyer': { funding: units(50n), deposit: units(1n), topupBelow: micro(200_000n) },
};
/** Sellers are funded a little too: a device with an empty wallet is unusual. */
export const SELLER_FUNDING = units(1n);
/** A rogue device's own money: enough for a channel to its victim and an overdraft attempt. */
export const ROGUE_FUNDING = units(20n);
export const ROGUE_DEPOSIT = units(1n);
