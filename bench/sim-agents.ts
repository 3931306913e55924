// Sustained throughput of a fleet of real agents (own key, own SQLite state, own MQTT
// connection) against the broker as a child process: every buyer of a seeded simulator fleet
// pays its first seller back to back (the next payment once the previous one is accepted),
// after a warm-up, for a measured window. The broker's memory is sampled throughout.
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { openDatabase } from '../broker/store/sqlite/open-database.js';
import { systemRandom } from '../broker/app.js';
import { defaultBrokerEntry } from '../simulator/world/broker-process.js';
import { HonestFleet } from '../simulator/actors/honest-fleet.js';
import { SimMetrics } from '../simulator/actors/metrics.js';
import { buildPlan } from '../simulator/plan/plan.js';
import { systemSimClock } from '../simulator/world/sim-clock.js';
import { buildWorld, closeWorld, SIM_BROKER_ID } from '../simulator/world/sim-world.js';
import { measure, type BenchResult } from './sim-measure.js';

/** Each payment: 0.0001, far below any deposit, so channels never need topping up mid-run. */
const PAYMENT_MICRO = 100n;

export async function benchAgents(devices: number, warmupMs: number, windowMs: number): Promise<BenchResult> {
  const plan = buildPlan({ seed: 1, devices, malicious: 0, durationMs: Infinity, killBrokerEverySeconds: null, dropRate: 0, intensity: 1 });
  const world = await buildWorld(plan, { dataDir: null, epochSeconds: 5, httpPort: null, brokerEntry: defaultBrokerEntry() }, systemRandom, Date.now());
  const fleet = new HonestFleet(new SimMetrics());
  try {
    const startedMs = Date.now();
    await fleet.start(world.enrolment, () => world.brokerUrl, SIM_BROKER_ID);
    const startupS = (Date.now() - startedMs) / 1000;
    const pairs = plan.fleet.devices.flatMap((device) => (device.role === 'buyer' && device.suppliers[0] !== undefined ? [{ payer: device.id, payee: device.suppliers[0] }] : []));
    const counter = { accepted: 0, failed: 0, stopped: false };
    const loops = pairs.map(async ({ payer, payee }) => {
      const agent = fleet.agents.get(payer);
      while (agent !== undefined && !counter.stopped) {
        try {
          await agent.pay(payee, PAYMENT_MICRO);
          counter.accepted += 1;
        } catch {
          counter.failed += 1;
        }
      }
    });
    const result = await measure({ counter, warmupMs, windowMs, clock: systemSimClock, broker: world.brokerProcess });
    counter.stopped = true;
    await Promise.all(loops);
    await fleet.stop();
    await world.broker.stop();
    const db = openDatabase(world.dataDir);
    const auditOk = auditLedger(db).every((check) => check.ok);
    db.close();
    return { ...result, devices, kind: 'real agents', payers: pairs.length, startupS, auditOk, failed: counter.failed };
  } finally {
    await closeWorld(world, true);
  }
}
