// Carries out the planned faults on time: broker kills (SIGKILL, a seeded outage, a restart on
// the same data directory and port), cluster worker kills (SIGKILL and a replacement) and
// dropped device connections (cut at the proxy).
import type { SimMetrics } from '../actors/metrics.js';
import type { SimPlan } from '../plan/plan.js';
import type { BrokerProcess } from '../world/broker-process.js';
import type { ClusterWorkers } from '../world/cluster-workers.js';
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

/** Every `--kill-worker-every` seconds a cluster worker is SIGKILLed and replaced, each in turn. */
export async function runWorkerKills(plan: SimPlan, workers: ClusterWorkers, metrics: SimMetrics, timing: FaultTiming): Promise<void> {
  const every = plan.options.killWorkerEverySeconds ?? null;
  if (every === null) return;
  for (let kill = 1; kill * every * 1000 < plan.options.durationMs; kill += 1) {
    await sleepUntil(timing.clock, timing.startMs + kill * every * 1000, timing.signal);
    if (timing.signal.aborted) return;
    await workers.killAndReplace(kill - 1);
    metrics.workerKills += 1;
  }
}
