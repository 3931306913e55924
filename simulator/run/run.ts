// One simulation run, start to verdict:
//  1. plan the fleet and schedules from the seed; build the world (ledger, enrolment, broker
//     child process, fault proxy);
//  2. start a real agent per honest device and a raw link per rogue;
//  3. run: buyers pay, sellers sell, rogues attack, the broker is killed and restarted, device
//     connections are dropped, all on the seeded schedule, with a progress line;
//  4. wind down: stop new actions, wait until every stored voucher is answered, record what
//     every device knows, stop the devices and (cleanly) the broker;
//  5. judge: final settlement by the service, ledger audit, conservation, and the check that
//     everything accepted is settled or pending.
import { amountOf } from '../../shared/amount.js';
import { SimMetrics } from '../actors/metrics.js';
import { buildPlan, type PlanOptions, type SimPlan } from '../plan/plan.js';
import { type RunFacts } from '../verdict/report.js';
import { reachVerdict, type Snapshots, type Verdict } from '../verdict/verdict.js';
import { countVouchers } from '../verdict/voucher-counts.js';
import { buildClusterWorld, type ClusterRun } from './cluster-world.js';
import { buildWorld, closeWorld, type World, type WorldOptions } from '../world/sim-world.js';
import { outcomesOf, startDevices, stopDevices, type Devices } from './devices.js';
import { runPhase, type RunPhase } from './run-phase.js';
import type { SimIo } from './sim-io.js';

export interface SimOptions extends PlanOptions, WorldOptions {
  /** Longest wait, after the run, for every stored voucher to be answered. */
  readonly drainTimeoutMs: number;
  /** `--cluster`: run against a local cluster of this many workers instead of one broker. */
  readonly cluster?: { readonly workers: number; readonly settleTimeoutMs: number } | null;
}

async function openWorld(plan: SimPlan, options: SimOptions, io: SimIo): Promise<{ world: World; cluster: ClusterRun | null }> {
  const cluster = options.cluster ?? null;
  if (cluster === null) return { world: await buildWorld(plan, options, io.random, io.clock.nowMs()), cluster: null };
  return buildClusterWorld(plan, { ...options, ...cluster, say: io.note ?? (() => undefined) }, io.random, io.clock.nowMs());
}

const whereText = (world: World): string =>
  world.cluster === null ? `broker up on 127.0.0.1:${world.mqttPort}` : `cluster up (MQTT node A on 127.0.0.1:${world.mqttPort}, PostgreSQL ledger)`;

async function windDown(world: World, devices: Devices, phase: RunPhase, options: SimOptions, io: SimIo) {
  await phase.faults; // a kill in progress ends with the broker restarted
  await world.broker.whenUp(options.drainTimeoutMs);
  const pendingAfterDrain = await devices.fleet.drain(io.clock, options.drainTimeoutMs);
  await phase.rogues;
  const snapshots = devices.fleet.snapshot();
  await stopDevices(devices);
  await world.proxy.close();
  await world.broker.stop();
  return { pendingAfterDrain, snapshots };
}

export async function runSimulation(options: SimOptions, io: SimIo): Promise<{ facts: RunFacts; world: World }> {
  const plan = buildPlan(options);
  const metrics = new SimMetrics();
  const since = (startMs: number) => `${((io.clock.nowMs() - startMs) / 1000).toFixed(1)} s`;
  let mark = io.clock.nowMs();
  const { world, cluster } = await openWorld(plan, options, io);
  io.note?.(`${whereText(world)} (data ${world.dataDir}); ${plan.options.devices} devices enrolled and funded in ${since(mark)}`);
  let devices: Devices | null = null;
  try {
    mark = io.clock.nowMs();
    devices = await startDevices(world, plan, metrics, io);
    io.note?.(`${devices.fleet.agents.size} agents and ${devices.rogues.length} rogue${devices.rogues.length === 1 ? '' : 's'} connected in ${since(mark)}`);
    const phase = await runPhase(world, plan, metrics, devices, io, cluster);
    mark = io.clock.nowMs();
    const { pendingAfterDrain, snapshots } = await windDown(world, devices, phase, options, io);
    io.note?.(`wound down in ${since(mark)}: ${pendingAfterDrain === 0 ? 'every stored voucher answered' : `${pendingAfterDrain} vouchers still unanswered`}; ${world.cluster === null ? 'broker stopped' : 'devices stopped, workers still settling'}`);
    mark = io.clock.nowMs();
    const verdict = cluster === null ? await reachVerdict(world, devices.rogues, snapshots) : await cluster.verdict(world, { rogues: devices.rogues, snapshots });
    io.note?.(`final settlement (${verdict.final.channels} channels, ${verdict.final.amount}) and checks in ${since(mark)}`);
    return { facts: factsOf(plan, metrics, world, devices, phase, pendingAfterDrain, snapshots, verdict), world };
  } catch (error) {
    await stopDevices(devices);
    await closeWorld(world, false).catch(() => undefined);
    throw error;
  }
}

function factsOf(plan: SimPlan, metrics: SimMetrics, world: World, devices: Devices, phase: RunPhase, pendingAfterDrain: number, snapshots: Snapshots, verdict: Verdict): RunFacts {
  let funded = 0n;
  for (const amount of world.enrolment.funded.values()) funded += amount;
  const attacks = outcomesOf(devices);
  return {
    plan, elapsedMs: phase.endMs - phase.startMs, metrics, vouchers: countVouchers(snapshots, devices.rogues, attacks), attacks,
    settlements: verdict.settlements, funded: amountOf(funded), invariants: { ledger: verdict.ledger, conservation: verdict.conservation, accepted: verdict.accepted },
    broker: {
      restarts: world.broker.generation - 1, unexpectedExits: world.broker.unexpectedExits, aclViolationsLogged: world.brokerLog.aclViolations,
      refusalsLogged: world.brokerLog.connectionRefusals, errorsLogged: world.brokerLog.errors, rssPeakBytes: phase.rssPeakBytes,
    },
    pendingAfterDrain, peakVouchersPerSecond: phase.peakPerSecond, dataDir: world.dataDir,
  };
}
