// Malformed MQTT over raw TCP into a real broker listener (test/fuzz/mqtt-packets.ts says what
// is sent): no crash, the heap flat after a forced GC, and a well-behaved device served after.
// Seeded: MQPAY_TEST_SEED=<seed> replays the same connections; `npm run fuzz` runs many more.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from './helpers/broker-fixture.js';
import { testSeed } from './helpers/seed.js';
import { fuzzListener, heapAfterGc, targetOf } from './fuzz/mqtt-packets.js';

const SEED = testSeed(20_261_206);
const CONNECTIONS = 400;
/** Heap growth allowed across the run: far below what keeping even a fraction of the garbage would cost. */
const HEAP_GROWTH_BYTES_MAX = 4 * 1024 * 1024;

describe(`fuzz: malformed MQTT into the broker listener (seed ${SEED}; replay with MQPAY_TEST_SEED=${SEED})`, () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker.stop();
  });

  it(`${CONNECTIONS} hostile connections: no crash, heap flat, a device still served`, async () => {
    const target = targetOf(broker);
    const honestKeys = broker.enrol('honest-1', '10');
    // Warm-up: the first connections load code and fill caches that are not leaks.
    await fuzzListener(target, SEED ^ 0x5a5a, 64);
    const warm = await broker.link('honest-1', honestKeys);
    expect(await warm.request('wallet.balance', {})).toMatchObject({ balance: '10' });
    await warm.close();
    const heapBefore = heapAfterGc();

    const figures = await fuzzListener(target, SEED, CONNECTIONS);
    const heapAfter = heapAfterGc();
    console.log(`mqtt fuzz: seed ${SEED}, ${figures.connections} connections, ${figures.bytes} bytes, ${figures.closedByBroker} closed; heap ${heapBefore} -> ${heapAfter} bytes`, figures.byCase);

    expect(heapAfter - heapBefore).toBeLessThan(HEAP_GROWTH_BYTES_MAX);
    const link = await broker.link('honest-1', honestKeys);
    expect(await link.request('wallet.balance', {})).toMatchObject({ balance: '10' });
    // The fuzzing device itself can still connect properly and be served.
    const fuzzer = await broker.link(target.device, target.keys);
    expect(await fuzzer.request('wallet.balance', {})).toMatchObject({ device: target.device });
  });
});
