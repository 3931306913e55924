// Carries out the planned faults on time: broker kills (SIGKILL, a seeded outage, a restart on
// the same data directory and port), cluster worker kills (SIGKILL and a replacement) and
// dropped device connections (cut at the proxy).
import type { SimMetrics } from '../actors/metrics.js';
import type { SimPlan } from '../plan/plan.js';
import type { BrokerProcess } from '../world/broker-process.js';
import type { ClusterService } from '../world/cluster-service.js';
import type { DropPoint } from '../world/sim-world.js';
import { sleepUntil, type SimClock } from '../world/sim-clock.js';

export interface FaultTiming {
  readonly clock: SimClock;
  readonly startMs: number;
  readonly signal: AbortSignal;
}

/** Kills and restarts the broker on schedule; a kill that started always ends in a restart. */
export async function runBrokerKills(plan: SimPlan, broker: BrokerProcess, metrics: SimMetrics, timing: FaultTiming): Promise<void> {
  const kills = plan.kills();
  for (let next = kills.next(); next.done !== true; next = kills.next()) {
    const kill = next.value;
    if (kill.atMs >= plan.options.durationMs) return;
    await sleepUntil(timing.clock, timing.startMs + kill.atMs, timing.signal);
    if (timing.signal.aborted) return;
    await broker.kill();
    metrics.brokerKills += 1;
    await timing.clock.sleep(kill.outageMs);
    await broker.start();
  }
}

/** Drops device connections at the proxy, second by second. */
export async function runDrops(plan: SimPlan, proxy: DropPoint, metrics: SimMetrics, timing: FaultTiming): Promise<void> {
  if (plan.options.dropRate <= 0) return;
  for (let second = 0; second * 1000 < plan.options.durationMs; second++) {
    for (const drop of plan.drops(second)) {
      await sleepUntil(timing.clock, timing.startMs + drop.atMs, timing.signal);
      if (timing.signal.aborted) return;
      if (proxy.drop(drop.device)) metrics.drops += 1;
    }
    await sleepUntil(timing.clock, timing.startMs + (second + 1) * 1000, timing.signal);
    if (timing.signal.aborted) return;
  }
}

/** Runs `act` every `everySeconds` (null: never) until the run ends; `act` gets the count so far. */
async function every(everySeconds: number | null, plan: SimPlan, timing: FaultTiming, act: (done: number) => Promise<void>): Promise<void> {
  if (everySeconds === null) return;
  for (let round = 1; round * everySeconds * 1000 < plan.options.durationMs; round += 1) {
    await sleepUntil(timing.clock, timing.startMs + round * everySeconds * 1000, timing.signal);
    if (timing.signal.aborted) return;
    await act(round - 1);
  }
}

/** Index of the RabbitMQ node the simulator stops: B, so the rogues' node A stays. */
export const STOPPED_NODE_INDEX = 1;

/**
 * The cluster faults: every `--kill-worker-every` seconds a worker is SIGKILLed and replaced
 * (each in turn), every `--stop-node-every` seconds RabbitMQ node B is stopped and started
 * again, every `--restart-postgres-every` seconds PostgreSQL is.
 */
export async function runClusterFaults(plan: SimPlan, cluster: ClusterService, metrics: SimMetrics, timing: FaultTiming): Promise<void> {
  const { options } = plan;
  await Promise.all([
    every(options.killWorkerEverySeconds ?? null, plan, timing, async (done) => {
      await cluster.killAndReplace(done);
      metrics.workerKills += 1;
    }),
    every(options.stopNodeEverySeconds ?? null, plan, timing, async () => {
      await cluster.restartNode(STOPPED_NODE_INDEX);
      metrics.nodeStops += 1;
    }),
    every(options.restartPostgresEverySeconds ?? null, plan, timing, async () => {
      await cluster.restartPostgres();
      metrics.postgresRestarts += 1;
    }),
  ]);
}
