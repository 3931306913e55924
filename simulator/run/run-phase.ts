// The run itself: buyers, sellers, rogues and faults started on one clock, a progress line
// while it lasts, and everything told to stop when the time is up (or on Ctrl-C). A broker
// that does not come back after a kill ends the run at once, and fails it.
import { setMaxListeners } from 'node:events';
import type { Amount } from '../../shared/amount.js';
import { ZERO } from '../../shared/amount.js';
import type { SimMetrics } from '../actors/metrics.js';
import { RogueRunner } from '../attacks/rogue-runner.js';
import type { SimPlan } from '../plan/plan.js';
import { SIM_BROKER_ID, type World } from '../world/sim-world.js';
import { outcomesOf, type Devices } from './devices.js';
import type { ClusterRun } from './cluster-world.js';
import { runBrokerKills, runDrops } from './fault-runner.js';
import { Progress } from './progress.js';
import type { SimIo } from './sim-io.js';

const PROGRESS_EVERY_MS = 500;

export interface RunPhase {
  readonly startMs: number;
  readonly endMs: number;
  /** Settles once the fault schedule has stopped (a kill in progress ends with a restart). */
  readonly faults: Promise<void>;
  readonly rogues: Promise<void>;
  readonly peakPerSecond: number;
  readonly rssPeakBytes: number | null;
}

async function showProgress(world: World, plan: SimPlan, metrics: SimMetrics, devices: Devices, progress: Progress, elapsedMs: number, nowMs: number): Promise<{ perSecond: number; rss: number | null }> {
  let settled: { count: number; amount: Amount } = { count: 0, amount: ZERO };
  try {
    settled = await world.ledger.settlements();
  } catch {
    // the ledger is briefly unreadable while the broker restarts; show the last figure next time
  }
  const outcomes = outcomesOf(devices);
  const perSecond = metrics.delivered.perSecond(nowMs);
  progress.update({
    elapsedMs, durationMs: plan.options.durationMs, vouchersPerSecond: perSecond, settled: settled.amount, settlements: settled.count,
    online: devices.fleet.online() + devices.rogues.filter((rogue) => rogue.link.connected).length, devices: plan.options.devices, brokerUp: world.broker.up, downLabel: world.cluster === null ? 'BROKER DOWN' : 'CLUSTER FAULT',
    attacksTried: outcomes.filter((o) => o.status === 'rejected' || o.status === 'succeeded' || o.status === 'unanswered').length,
    attacksRejected: outcomes.filter((o) => o.status === 'rejected').length,
  });
  return { perSecond, rss: world.broker.rssBytes() };
}

function startRogues(world: World, plan: SimPlan, devices: Devices, io: SimIo, startMs: number, signal: AbortSignal): Promise<void> {
  const context = (rogue: Devices['rogues'][number]) => ({ rogue, ledger: world.ledger, brokerLog: world.brokerLog, brokerUrl: world.brokerUrl, brokerId: SIM_BROKER_ID, random: io.random, clock: io.clock });
  devices.runners = devices.rogues.map((rogue) => new RogueRunner(context(rogue), plan, world.broker, io.clock, startMs, signal));
  return Promise.all(devices.runners.map((runner) => runner.run())).then(() => undefined);
}

export async function runPhase(world: World, plan: SimPlan, metrics: SimMetrics, devices: Devices, io: SimIo, cluster: ClusterRun | null = null): Promise<RunPhase> {
  const { clock } = io;
  const startMs = clock.nowMs();
  const running = new AbortController();
  setMaxListeners(0, running.signal); // every device sleeps on it
  const timing = { clock, startMs, signal: running.signal };
  devices.fleet.run({ plan, metrics, clock, startMs, signal: running.signal });
  const rogues = startRogues(world, plan, devices, io, startMs, running.signal);
  rogues.catch(() => undefined); // awaited when the run winds down
  const faults = Promise.all([
    world.brokerProcess === null ? undefined : runBrokerKills(plan, world.brokerProcess, metrics, timing),
    cluster?.runFaults(plan, metrics, timing),
    runDrops(plan, world.proxy, metrics, timing),
  ]).then(() => undefined);
  let fatal: unknown = null;
  faults.catch((error: unknown) => {
    fatal = error;
  });
  io.onReady?.({ dataDir: world.dataDir, mqttPort: world.mqttPort, httpPort: world.httpPort, operatorToken: world.operatorToken, devices: plan.options.devices });
  const progress = new Progress(io.progress, io.isTty);
  let peakPerSecond = 0;
  let rssPeakBytes: number | null = null;
  while (clock.nowMs() - startMs < plan.options.durationMs && io.stop?.aborted !== true && fatal === null) {
    await clock.sleep(Math.min(PROGRESS_EVERY_MS, plan.options.durationMs - (clock.nowMs() - startMs)), io.stop);
    const sample = await showProgress(world, plan, metrics, devices, progress, clock.nowMs() - startMs, clock.nowMs());
    peakPerSecond = Math.max(peakPerSecond, sample.perSecond);
    if (sample.rss !== null) rssPeakBytes = Math.max(rssPeakBytes ?? 0, sample.rss);
  }
  running.abort();
  progress.finish();
  if (fatal !== null) throw fatal;
  return { startMs, endMs: clock.nowMs(), faults, rogues, peakPerSecond, rssPeakBytes };
}
