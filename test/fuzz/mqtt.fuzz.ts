// The long run of malformed MQTT into a broker listener (`npm run fuzz`): MQPAY_FUZZ_CONNECTIONS
// hostile connections (default 20,000), heap measured after a forced GC before and after.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../helpers/broker-fixture.js';
import { testSeed } from '../helpers/seed.js';
import { fuzzListener, heapAfterGc, targetOf } from './mqtt-packets.js';

const SEED = testSeed(Number(BigInt(Date.now()) % 4_294_967_296n));
const CONNECTIONS = Number(process.env.MQPAY_FUZZ_CONNECTIONS ?? 20_000);
const HEAP_GROWTH_BYTES_MAX = 4 * 1024 * 1024;

describe(`long fuzz: malformed MQTT (seed ${SEED}; replay with MQPAY_TEST_SEED=${SEED})`, () => {
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
    await fuzzListener(target, SEED ^ 0x5a5a, 500);
    const warm = await broker.link('honest-1', honestKeys);
    expect(await warm.request('wallet.balance', {})).toMatchObject({ balance: '10' });
    await warm.close();
    const heapBefore = heapAfterGc();
    const started = Date.now();
    const figures = await fuzzListener(target, SEED, CONNECTIONS);
    const heapAfter = heapAfterGc();
    console.log(`long mqtt fuzz: seed ${SEED}, ${figures.connections} connections, ${figures.bytes} bytes in ${((Date.now() - started) / 1000).toFixed(1)} s, ${figures.closedByBroker} closed; heap after GC ${heapBefore} -> ${heapAfter} bytes (${heapAfter - heapBefore >= 0 ? '+' : ''}${heapAfter - heapBefore})`, figures.byCase);
    expect(heapAfter - heapBefore).toBeLessThan(HEAP_GROWTH_BYTES_MAX);
    const link = await broker.link('honest-1', honestKeys);
    expect(await link.request('wallet.balance', {})).toMatchObject({ balance: '10' });
  });
});
