// The long run of malformed MQTT into a broker listener (`npm run fuzz`): MQPAY_FUZZ_CONNECTIONS
// hostile connections (default 20,000), heap measured after a forced GC before and after.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../helpers/broker-fixture.js';
import { testSeed } from '../helpers/seed.js';
import { HEAP_GROWTH_BYTES_MAX, runListenerFuzz } from './mqtt-packets.js';

const SEED = testSeed(Number(BigInt(Date.now()) % 4_294_967_296n));
const CONNECTIONS = Number(process.env.MQPAY_FUZZ_CONNECTIONS ?? 20_000);

describe(`long fuzz: malformed MQTT (seed ${SEED}; replay with MQPAY_TEST_SEED=${SEED})`, () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker.stop();
  });

  it(`${CONNECTIONS} hostile connections: no crash, heap flat, a device still served`, async () => {
    const run = await runListenerFuzz(broker, SEED, CONNECTIONS, 500);
    const growth = run.heapAfterBytes - run.heapBeforeBytes;
    console.log(`long mqtt fuzz: seed ${SEED}, ${run.figures.connections} connections, ${run.figures.bytes} bytes in ${run.seconds.toFixed(1)} s, ${run.figures.closedByBroker} closed; heap after GC ${run.heapBeforeBytes} -> ${run.heapAfterBytes} bytes (${growth >= 0 ? '+' : ''}${growth})`, run.figures.byCase);
    expect(growth).toBeLessThan(HEAP_GROWTH_BYTES_MAX);
    expect(run.servedAfter).toEqual([{ device: 'honest-1', balance: '10' }, { device: 'fuzzer-1', balance: expect.any(String) }]);
  });
});
