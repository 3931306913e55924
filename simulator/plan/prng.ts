// The simulator's seeded randomness: xoshiro128** seeded through splitmix32. Everything the
// plan decides (fleet, prices, schedules, faults, attacks) comes from a Prng, so the same seed
// gives the same plan. Streams are forked by label, so adding a device or a fault kind does not
// shift the numbers every other part of the plan draws.
//
// Floats here choose among discrete options and time offsets only. Money is chosen as an
// integer index into a bigint range (`microBetween`), never computed from a float.
import { amountOf, type Amount } from '../../shared/amount.js';

function splitmix32(state: { value: number }): number {
  state.value = (state.value + 0x9e37_79b9) >>> 0;
  let z = state.value;
  z = Math.imul(z ^ (z >>> 16), 0x85eb_ca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2_ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a over a label, mixed into a seed: the seed of a forked stream. */
function mixLabel(seed: number, label: string): number {
  let hash = (0x811c_9dc5 ^ seed) >>> 0;
  for (let i = 0; i < label.length; i++) {
    hash ^= label.charCodeAt(i);
    hash = Math.imul(hash, 0x0100_0193) >>> 0;
  }
  return hash;
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

export class Prng {
  /** xoshiro128** state; a Uint32Array keeps every word wrapped to 32 bits. */
  private readonly s = new Uint32Array(4);

  /** Seeds the state through splitmix32; `state` sets the four words directly (reference vectors). */
  constructor(readonly seed: number, state?: readonly [number, number, number, number]) {
    const mixer = { value: seed >>> 0 };
    for (let i = 0; i < 4; i++) this.s[i] = state === undefined ? splitmix32(mixer) : state[i] as number;
    if (this.s.every((word) => word === 0)) this.s[0] = 1;
  }

  /** A 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.s;
    const [s0, s1, s2, s3] = [s[0] as number, s[1] as number, s[2] as number, s[3] as number];
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    s[1] = s1 ^ n2;
    s[0] = s0 ^ n3;
    s[2] = n2 ^ t;
    s[3] = rotl(n3 >>> 0, 11);
    return result;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.nextU32() / 0x1_0000_0000;
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) throw new Error(`bad range [${min}, ${max}]`);
    return min + Math.floor(this.float() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.float() < probability;
  }

  pick<T>(list: readonly T[]): T {
    if (list.length === 0) throw new Error('pick from an empty list');
    return list[this.int(0, list.length - 1)] as T;
  }

  /** Picks by integer weights. */
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
    let roll = this.int(1, total);
    for (const [value, weight] of entries) {
      roll -= weight;
      if (roll <= 0) return value;
    }
    throw new Error('weights must be positive integers');
  }

  /** `count` distinct elements, in random order. */
  sample<T>(list: readonly T[], count: number): T[] {
    return this.shuffle(list).slice(0, Math.min(count, list.length));
  }

  shuffle<T>(list: readonly T[]): T[] {
    const out = [...list];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  /** An amount in [min, max] on a grid of `step` micro-units (all bigint). */
  microBetween(min: bigint, max: bigint, step = 1n): Amount {
    const steps = (max - min) / step;
    if (steps < 0n || steps > 0xffff_ffffn) throw new Error('amount range too wide for one draw');
    return amountOf(min + BigInt(this.int(0, Number(steps))) * step);
  }

  /** An independent stream for one part of the plan. */
  fork(label: string): Prng {
    return new Prng(mixLabel(this.seed, label));
  }
}
