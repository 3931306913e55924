// The long fuzz run (`npm run fuzz`): the properties of decoder-properties.ts with
// MQPAY_FUZZ_RUNS inputs per property (default 80,000: over a million in all). Seeded like the
// short run: MQPAY_TEST_SEED=<seed> replays; the seed and the count are printed.
import { describe, it } from 'vitest';
import { decoderProperties, runProperty } from './decoder-properties.js';
import { testSeed } from '../helpers/seed.js';

const SEED = testSeed(Number(BigInt(Date.now()) % 4_294_967_296n));
const RUNS = Number(process.env.MQPAY_FUZZ_RUNS ?? 80_000);

describe(`long fuzz: shared decoders and schemas (seed ${SEED}; replay with MQPAY_TEST_SEED=${SEED}), ${RUNS} runs per property`, () => {
  let tried = 0;
  const started = Date.now();
  for (const entry of decoderProperties()) {
    it(entry.name, () => {
      tried += runProperty(entry, RUNS, SEED);
    });
  }
  it('reports what it tried', () => {
    console.log(`long fuzz decoders: seed ${SEED}, ${tried} inputs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
});
