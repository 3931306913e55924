// A seed for the random choices of a test, so a failure can be replayed: MQPAY_TEST_SEED picks
// it (an integer from 0 to 2^32 - 1), otherwise a fixed default does. Print it and put it in the
// test's name; `MQPAY_TEST_SEED=<seed> npx vitest run <file>` then replays the same choices.

export function testSeed(fallback: number, environment: string | undefined = process.env.MQPAY_TEST_SEED): number {
  if (environment === undefined || environment === '') return fallback;
  if (!/^[0-9]{1,10}$/.test(environment) || Number(environment) > 0xffff_ffff) throw new Error(`MQPAY_TEST_SEED must be an integer from 0 to ${0xffff_ffff}, not ${environment}`);
  return Number(environment);
}

/** mulberry32: a small, fast, seeded generator of floats in [0, 1); the same seed, the same sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** An integer in [min, max), from a seeded generator. */
export const seededInt = (next: () => number, min: number, max: number): number => min + Math.floor(next() * (max - min));
