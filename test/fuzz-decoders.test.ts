// The short fuzz run of `npm test`: every decoder and schema of shared/ against a few thousand
// arbitrary and mutated inputs (test/fuzz/decoder-properties.ts says what is checked). Seeded:
// the seed is printed and in the test names; MQPAY_TEST_SEED=<seed> replays a failure, and
// `npm run fuzz` runs the same properties a million times and more.
import { describe, it } from 'vitest';
import { decoderProperties, runProperty } from './fuzz/decoder-properties.js';
import { testSeed } from './helpers/seed.js';

const SEED = testSeed(20_261_204);
const RUNS = 1_500;

describe(`fuzz: shared decoders and schemas (seed ${SEED}; replay with MQPAY_TEST_SEED=${SEED})`, () => {
  let tried = 0;
  for (const entry of decoderProperties()) {
    it(entry.name, () => {
      tried += runProperty(entry, RUNS, SEED);
    });
  }
  it('reports what it tried', () => {
    console.log(`fuzz decoders: seed ${SEED}, ${tried} inputs`);
  });
});
