// The simulator's plan is a pure function of its seed: the same seed gives the same fleet,
// payment schedule, broker kills, drops and attacks; another seed gives another plan. Checked
// on the generated plan, not on timing.
import { describe, expect, it } from 'vitest';
import { chargingRate, parkingRate } from '../simulator/plan/behaviour.js';
import { sniffClientId } from '../simulator/world/connect-packet.js';
import { ATTACK_KINDS } from '../simulator/plan/faults.js';
import { BUYER_KINDS, SELLER_KINDS } from '../simulator/plan/kinds.js';
import { buildPlan, describePlan, type PlanOptions } from '../simulator/plan/plan.js';
import { Prng } from '../simulator/plan/prng.js';
import { connectPacket } from './helpers/broker-adversary.js';

const OPTIONS: PlanOptions = { seed: 42, devices: 60, malicious: 4, durationMs: 60_000, killBrokerEverySeconds: 15, dropRate: 0.01, intensity: 1 };

describe('simulator plan', () => {
  it('the same seed gives the same fleet and schedule, byte for byte', () => {
    const a = JSON.stringify(describePlan(buildPlan(OPTIONS), 60_000));
    const b = JSON.stringify(describePlan(buildPlan(OPTIONS), 60_000));
    expect(a).toBe(b);
    expect(a.length).toBeGreaterThan(10_000); // a real plan, not an empty one
  });

  it('another seed gives another fleet and schedule', () => {
    const a = describePlan(buildPlan(OPTIONS), 60_000) as { fleet: unknown; actions: unknown; drops: unknown; attacks: unknown };
    const b = describePlan(buildPlan({ ...OPTIONS, seed: 43 }), 60_000) as typeof a;
    expect(b.fleet).not.toEqual(a.fleet);
    expect(b.actions).not.toEqual(a.actions);
    expect(b.drops).not.toEqual(a.drops);
    expect(b.attacks).not.toEqual(a.attacks);
  });

  it('reading a plan does not change it (sequences restart from their own stream)', () => {
    const plan = buildPlan(OPTIONS);
    const buyer = plan.fleet.devices.find((device) => device.role === 'buyer')?.id ?? '';
    const first = plan.actions(buyer).next().value;
    plan.actions(buyer).next();
    expect(plan.actions(buyer).next().value).toEqual(first);
    expect(plan.drops(7)).toEqual(plan.drops(7));
  });

  it('a mixed fleet: every kind present, rogues disguised as sensors with paying customers', () => {
    const plan = buildPlan(OPTIONS);
    const kinds = new Set(plan.fleet.devices.map((device) => device.kind));
    for (const kind of [...SELLER_KINDS, ...BUYER_KINDS]) expect(kinds).toContain(kind);
    expect(plan.rogueIds).toHaveLength(4);
    for (const rogue of plan.rogueIds) {
      const customers = plan.fleet.devices.filter((device) => device.role === 'buyer' && device.suppliers.includes(rogue));
      expect(customers.length).toBeGreaterThan(0);
    }
    const ids = plan.fleet.devices.map((device) => device.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('prices are exact integers of micro-units; stream rates divide without remainder', () => {
    const plan = buildPlan({ ...OPTIONS, devices: 400, malicious: 0 });
    for (const device of plan.fleet.devices) {
      if (device.role !== 'seller') continue;
      expect(typeof device.offer.price).toBe('bigint');
      if (device.kind === 'ev-charger') expect((device.powerW * device.offer.price) % 3_600n).toBe(0n);
      if (device.kind === 'ev-charger') expect(chargingRate(device) * 3_600n).toBe(device.powerW * device.offer.price);
      if (device.kind === 'parking-meter') expect(parkingRate(device) * 3_600n).toBe(device.offer.price);
    }
  });

  it('faults follow the options: kills every N seconds, drops near the rate, every attack kind scheduled', () => {
    const plan = buildPlan({ ...OPTIONS, devices: 500, malicious: 10 });
    const kills = describePlan(plan, 60_000) as { kills: { atMs: number }[]; drops: unknown[]; attacks: Record<string, { kind: string }[]> };
    expect(kills.kills.map((kill) => kill.atMs)).toEqual([15_000, 30_000, 45_000]);
    const expectedDrops = 490 * 60 * 0.01;
    expect(kills.drops.length).toBeGreaterThan(expectedDrops * 0.75);
    expect(kills.drops.length).toBeLessThan(expectedDrops * 1.25);
    for (const attacks of Object.values(kills.attacks)) expect(new Set(attacks.map((a) => a.kind))).toEqual(new Set(ATTACK_KINDS));
    expect(buildPlan({ ...OPTIONS, dropRate: 0 }).drops(3)).toEqual([]);
    expect(describePlan(buildPlan({ ...OPTIONS, killBrokerEverySeconds: null }), 60_000)).toMatchObject({ kills: [] });
  });

  it('the PRNG is xoshiro128** (reference vector) and its seeding is pinned, so old seeds keep their fleets', () => {
    const reference = new Prng(0, [1, 2, 3, 4]);
    expect([reference.nextU32(), reference.nextU32(), reference.nextU32()]).toEqual([11_520, 0, 5_927_040]);
    const seeded = new Prng(1);
    expect([seeded.nextU32(), seeded.nextU32(), seeded.nextU32()]).toEqual([2_442_144_158, 3_238_099_751, 3_819_917_871]);
    expect(new Prng(1).fork('fleet').seed).toBe(1_040_812_072);
    expect(new Prng(99).microBetween(100n, 200n, 10n) % 10n).toBe(0n);
  });

  it('the fault proxy reads the client id out of a CONNECT packet, however it is split', () => {
    const packet = connectPacket({ clientId: 'vehicle-001', username: 'vehicle-001', password: Buffer.alloc(163, 7) });
    expect(sniffClientId(packet)).toEqual({ kind: 'found', clientId: 'vehicle-001' });
    for (let cut = 0; cut < 20; cut++) expect(sniffClientId(packet.subarray(0, cut)).kind).toBe('more');
    expect(sniffClientId(Buffer.from([0x30, 0x02, 0, 0]))).toEqual({ kind: 'unknown' });
  });
});
