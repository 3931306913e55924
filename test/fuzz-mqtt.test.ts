// Malformed MQTT over raw TCP into a real broker listener (test/fuzz/mqtt-packets.ts says what
// is sent): no crash, the heap flat after a forced GC, and a well-behaved device served after.
// Seeded: MQPAY_TEST_SEED=<seed> replays the same connections; `npm run fuzz` runs many more.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from './helpers/broker-fixture.js';
import { testSeed } from './helpers/seed.js';
import { HEAP_GROWTH_BYTES_MAX, runListenerFuzz } from './fuzz/mqtt-packets.js';

const SEED = testSeed(20_261_206);
const CONNECTIONS = 400;

describe(`fuzz: malformed MQTT into the broker listener (seed ${SEED}; replay with MQPAY_TEST_SEED=${SEED})`, () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker.stop();
  });

  it(`${CONNECTIONS} hostile connections: no crash, heap flat, a device still served`, async () => {
    const run = await runListenerFuzz(broker, SEED, CONNECTIONS, 64);
    console.log(`mqtt fuzz: seed ${SEED}, ${run.figures.connections} connections, ${run.figures.bytes} bytes, ${run.figures.closedByBroker} closed; heap ${run.heapBeforeBytes} -> ${run.heapAfterBytes} bytes`, run.figures.byCase);
    expect(run.heapAfterBytes - run.heapBeforeBytes).toBeLessThan(HEAP_GROWTH_BYTES_MAX);
    expect(run.servedAfter).toEqual([{ device: 'honest-1', balance: '10' }, { device: 'fuzzer-1', balance: expect.any(String) }]);
  });
});
