// The long crash loop (`npm run test:crash`): test/helpers/crash-loop.ts with MQPAY_CRASH_KILLS
// broker kills (default 60), payer agents killed in a third of the rounds. Prints its seed first
// and its figures at the end; MQPAY_TEST_SEED=<seed> replays the kill points of a failure.
import { describe, expect, it } from 'vitest';
import { runCrashLoop } from '../helpers/crash-loop.js';
import { testSeed } from '../helpers/seed.js';

const SEED = testSeed(Number(BigInt(Date.now()) % 4_294_967_296n));
const KILLS = Number(process.env.MQPAY_CRASH_KILLS ?? 60);

describe('crash loop (long)', () => {
  it(`survives ${KILLS} broker SIGKILLs (seed ${SEED}; replay with MQPAY_TEST_SEED=${SEED}) with nothing accepted lost`, async () => {
    console.log(`crash loop: seed ${SEED}, ${KILLS} kills`);
    const started = Date.now();
    const figures = await runCrashLoop({ seed: SEED, kills: KILLS, agentKillShare: 0.33, log: (line) => console.log(line) });
    console.log([
      `crash loop done in ${((Date.now() - started) / 1000).toFixed(0)} s: seed ${figures.seed}`,
      `broker kills ${figures.brokerKills}, agent kills ${figures.agentKills}, ledger checks ${figures.checks}`,
      `vouchers accepted ${figures.vouchersAccepted} (total ${figures.acceptedTotal} micro-units), settlements ${figures.settlements} (settled ${figures.settledTotal})`,
      `units lost: ${figures.unitsLost}`,
    ].join('\n'));
    expect(figures.unitsLost).toBe(0n);
  });
});
