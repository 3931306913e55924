// The whole plan of a run, from a seed: the fleet, each buyer's actions, the broker kills, the
// connection drops and the attacks. Pure and lazy: sequences are regenerated from their own
// forked stream on every call, so reading a plan never changes it, and `describePlan` (used by
// the determinism test) sees exactly what a run would do.
import { buyerActions, type Action } from './behaviour.js';
import { attackSchedule, brokerKills, dropsInSecond, type BrokerKill, type Drop, type PlannedAttack } from './faults.js';
import { buildFleet, type Fleet } from './fleet.js';
import { Prng } from './prng.js';

export interface PlanOptions {
  readonly seed: number;
  readonly devices: number;
  readonly malicious: number;
  /** Run length; Infinity for the endless demo. */
  readonly durationMs: number;
  readonly killBrokerEverySeconds: number | null;
  /** Cluster runs: SIGKILL a worker (and start a replacement) this often. */
  readonly killWorkerEverySeconds?: number | null;
  /** Cluster runs: stop RabbitMQ node B and start it again this often. */
  readonly stopNodeEverySeconds?: number | null;
  /** Cluster runs: stop PostgreSQL and start it again this often. */
  readonly restartPostgresEverySeconds?: number | null;
  /** Probability per second per honest device of a forced disconnect. */
  readonly dropRate: number;
  /** Divides the gaps between a buyer's actions (1 = believable pace). */
  readonly intensity: number;
}

export interface SimPlan {
  readonly options: PlanOptions;
  readonly fleet: Fleet;
  /** Devices run by real agents (everything but the rogues). */
  readonly honestIds: readonly string[];
  readonly rogueIds: readonly string[];
  actions(buyer: string): Iterator<Action>;
  kills(): Iterator<BrokerKill>;
  drops(second: number): Drop[];
  attacks(rogue: string): Iterator<PlannedAttack>;
}

export function buildPlan(options: PlanOptions): SimPlan {
  const root = new Prng(options.seed);
  const fleet = buildFleet(root.fork('fleet'), options.devices, options.malicious);
  const honestIds = fleet.devices.filter((device) => device.role !== 'rogue').map((device) => device.id);
  const rogueIds = fleet.devices.filter((device) => device.role === 'rogue').map((device) => device.id);
  return {
    options, fleet, honestIds, rogueIds,
    actions(buyer) {
      const device = fleet.byId.get(buyer);
      if (device?.role !== 'buyer') throw new Error(`${buyer} is not a buyer`);
      return buyerActions(root.fork(`actions:${buyer}`), device, fleet, options.intensity);
    },
    kills: () => brokerKills(root.fork('kills'), options.killBrokerEverySeconds),
    drops: (second) => dropsInSecond(root.fork('drops'), second, honestIds, options.dropRate),
    attacks: (rogue) => attackSchedule(root.fork(`attacks:${rogue}`), options.durationMs),
  };
}

function take<T>(iterator: Iterator<T>, until: (item: T) => boolean): T[] {
  const out: T[] = [];
  for (let next = iterator.next(); next.done !== true && !until(next.value); next = iterator.next()) out.push(next.value);
  return out;
}

const jsonSafe = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));

/** Everything the plan schedules before `horizonMs`, as plain JSON (bigints as decimal strings of micro-units). */
export function describePlan(plan: SimPlan, horizonMs: number): unknown {
  const after = (item: { atMs: number }) => item.atMs >= horizonMs;
  const buyers = plan.fleet.devices.filter((device) => device.role === 'buyer');
  return jsonSafe({
    fleet: plan.fleet.devices,
    actions: Object.fromEntries(buyers.map((buyer) => [buyer.id, take(plan.actions(buyer.id), after)])),
    kills: take(plan.kills(), after),
    drops: Array.from({ length: Math.ceil(horizonMs / 1000) }, (_, second) => plan.drops(second)).flat(),
    attacks: Object.fromEntries(plan.rogueIds.map((rogue) => [rogue, take(plan.attacks(rogue), after)])),
  });
}
