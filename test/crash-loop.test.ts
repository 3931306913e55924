// The short crash loop of `npm test`: a paying fleet against the broker as a child process,
// SIGKILLed at seeded instants (payer agents too, some of the time), with the ledger checked
// after every kill and at the end (test/helpers/crash-loop.ts says what is checked). The long
// run is `npm run test:crash`. MQPAY_TEST_SEED=<seed> replays the kill points of a failure.
import { describe, expect, it } from 'vitest';
import { runCrashLoop } from './helpers/crash-loop.js';
import { testSeed } from './helpers/seed.js';

const SEED = testSeed(20_261_205);
const KILLS = 6;

describe('crash loop (short)', () => {
  it(`survives ${KILLS} broker SIGKILLs at seeded instants (seed ${SEED}; replay with MQPAY_TEST_SEED=${SEED}) with nothing accepted lost`, async () => {
    console.log('crash loop seed', SEED);
    const figures = await runCrashLoop({ seed: SEED, kills: KILLS, agentKillShare: 0.5, log: (line) => console.log(line) });
    console.log('crash loop figures', figures);
    expect(figures.brokerKills).toBe(KILLS);
    expect(figures.unitsLost).toBe(0n);
    expect(figures.vouchersAccepted).toBeGreaterThan(0n);
  }, 120_000);
});
