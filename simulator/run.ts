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
import { setMaxListeners } from 'node:events';
import { openDatabase } from '../broker/store/open-database.js';
import { auditLedger } from '../broker/store/audit.js';
import { amountOf, ZERO, type Amount } from '../shared/amount.js';
import type { RandomBytes } from '../shared/ids.js';
import { checkAcceptedSettledOrPending } from './accepted-check.js';
import type { AttackOutcome } from './attack.js';
import { checkConservation } from './conservation.js';
import { runBrokerKills, runDrops } from './fault-runner.js';
import { settleFinally } from './final-settlement.js';
import { HonestFleet } from './honest-fleet.js';
import { SimMetrics } from './metrics.js';
import { buildPlan, type PlanOptions, type SimPlan } from './plan.js';
import { Progress } from './progress.js';
import { type RunFacts } from './report.js';
import { RogueDevice } from './rogue-device.js';
import { RogueRunner } from './rogue-runner.js';
import type { SimClock } from './sim-clock.js';
import { buildWorld, closeWorld, SIM_BROKER_ID, type World, type WorldOptions } from './sim-world.js';
import { countVouchers, payeeViews, payerViews } from './voucher-counts.js';

export interface SimOptions extends PlanOptions, WorldOptions {
  /** Longest wait, after the run, for every stored voucher to be answered. */
  readonly drainTimeoutMs: number;
}

export interface ReadyInfo {
  readonly dataDir: string;
  readonly mqttPort: number;
  readonly httpPort: number | null;
  readonly operatorToken: string;
  readonly devices: number;
}

export interface SimIo {
  readonly clock: SimClock;
  readonly random: RandomBytes;
  /** Progress output (stderr). */
  readonly progress: (text: string) => void;
  readonly isTty: boolean;
  /** Called once the fleet is up and the run starts. */
  readonly onReady?: (info: ReadyInfo) => void;
  /** Ends the run early (Ctrl-C in the demo). */
  readonly stop?: AbortSignal;
  /** One line per phase (stderr). */
  readonly note?: (line: string) => void;
}

const PROGRESS_EVERY_MS = 500;

interface Devices {
  readonly fleet: HonestFleet;
  readonly rogues: RogueDevice[];
  runners: RogueRunner[];
}

async function startDevices(world: World, plan: SimPlan, metrics: SimMetrics, io: SimIo): Promise<Devices> {
  const fleet = new HonestFleet(metrics);
  await fleet.start(world.enrolment, world.proxyUrl, SIM_BROKER_ID);
  const rogues = plan.fleet.devices.flatMap((device) => {
    const keys = world.enrolment.rogueKeys.get(device.id);
    if (device.role !== 'rogue' || keys === undefined) return [];
    return [RogueDevice.open({ plan: device, keys, url: world.brokerUrl, brokerId: SIM_BROKER_ID, clock: io.clock, random: io.random })];
  });
  await Promise.all(rogues.map((rogue) => rogue.link.whenConnected(10_000)));
  return { fleet, rogues, runners: [] };
}

const outcomesOf = (devices: Devices): AttackOutcome[] => devices.runners.flatMap((runner) => runner.outcomes);

function showProgress(world: World, plan: SimPlan, metrics: SimMetrics, devices: Devices, progress: Progress, elapsedMs: number, nowMs: number): { perSecond: number; rss: number | null } {
  let settled = { count: 0, amount: ZERO as Amount };
  try {
    settled = world.ledger.settlements();
  } catch {
    // the ledger is briefly unreadable while the broker restarts; show the last figure next time
  }
  const outcomes = outcomesOf(devices);
  const perSecond = metrics.delivered.perSecond(nowMs);
  progress.update({
    elapsedMs, durationMs: plan.options.durationMs, vouchersPerSecond: perSecond, settled: settled.amount, settlements: settled.count,
    online: devices.fleet.online() + devices.rogues.filter((rogue) => rogue.link.connected).length, devices: plan.options.devices, brokerUp: world.broker.up,
    attacksTried: outcomes.filter((o) => o.status === 'rejected' || o.status === 'succeeded' || o.status === 'unanswered').length,
    attacksRejected: outcomes.filter((o) => o.status === 'rejected').length,
  });
  return { perSecond, rss: world.broker.rssBytes() };
}

interface RunPhase {
  readonly startMs: number;
  readonly endMs: number;
  readonly faults: Promise<void>;
  readonly rogues: Promise<void>;
  readonly peakPerSecond: number;
  readonly rssPeakBytes: number | null;
}

async function runPhase(world: World, plan: SimPlan, metrics: SimMetrics, devices: Devices, io: SimIo): Promise<RunPhase> {
  const { clock } = io;
  const startMs = clock.nowMs();
  const running = new AbortController();
  setMaxListeners(0, running.signal); // every device sleeps on it
  const timing = { clock, startMs, signal: running.signal };
  const ctx = { plan, metrics, clock, startMs, signal: running.signal };
  devices.fleet.run(ctx);
  devices.runners = devices.rogues.map((rogue) => new RogueRunner({ rogue, ledger: world.ledger, brokerLog: world.brokerLog, brokerUrl: world.brokerUrl, brokerId: SIM_BROKER_ID, random: io.random, clock }, plan, world.broker, clock, startMs, running.signal));
  const rogues = Promise.all(devices.runners.map((runner) => runner.run())).then(() => undefined);
  const faults = Promise.all([runBrokerKills(plan, world.broker, metrics, timing), runDrops(plan, world.proxy, metrics, timing)]).then(() => undefined);
  io.onReady?.({ dataDir: world.dataDir, mqttPort: world.mqttPort, httpPort: world.httpPort, operatorToken: world.operatorToken, devices: plan.options.devices });
  const progress = new Progress(io.progress, io.isTty);
  let peakPerSecond = 0;
  let rssPeakBytes: number | null = null;
  while (clock.nowMs() - startMs < plan.options.durationMs && io.stop?.aborted !== true) {
    await clock.sleep(Math.min(PROGRESS_EVERY_MS, plan.options.durationMs - (clock.nowMs() - startMs)), io.stop);
    const sample = showProgress(world, plan, metrics, devices, progress, clock.nowMs() - startMs, clock.nowMs());
    peakPerSecond = Math.max(peakPerSecond, sample.perSecond);
    if (sample.rss !== null) rssPeakBytes = Math.max(rssPeakBytes ?? 0, sample.rss);
  }
  running.abort();
  progress.finish();
  return { startMs, endMs: clock.nowMs(), faults, rogues, peakPerSecond, rssPeakBytes };
}

async function windDown(world: World, devices: Devices, phase: RunPhase, options: SimOptions, io: SimIo) {
  await phase.faults; // a kill in progress ends with the broker restarted
  await world.broker.whenUp(options.drainTimeoutMs);
  const pendingAfterDrain = await devices.fleet.drain(io.clock, options.drainTimeoutMs);
  await phase.rogues;
  const snapshots = devices.fleet.snapshot();
  await devices.fleet.stop();
  await Promise.all(devices.rogues.map((rogue) => rogue.close().catch(() => undefined)));
  await world.proxy.close();
  await world.broker.stop();
  return { pendingAfterDrain, snapshots };
}

type Snapshots = ReturnType<HonestFleet['snapshot']>;
type Verdict = Awaited<ReturnType<typeof judge>>;

async function judge(world: World, devices: Devices, snapshots: Snapshots) {
  const final = await settleFinally(world.dataDir, world.operatorToken);
  const db = openDatabase(world.dataDir);
  try {
    const checks = auditLedger(db);
    const failed = checks.filter((check) => !check.ok);
    const ledger = { ok: failed.length === 0, detail: failed.length === 0 ? `${checks.length} audit checks hold` : failed.map((c) => `${c.name}: ${c.detail}`).join('; ') };
    const conservation = checkConservation(db, world.enrolment.funded);
    const accepted = checkAcceptedSettledOrPending(db, payerViews(snapshots, devices.rogues), payeeViews(snapshots));
    const row = db.prepare('SELECT count(*) AS n, COALESCE(SUM(amount), 0) AS amount FROM settlements').get() as { n: bigint; amount: bigint };
    return { final, ledger, conservation, accepted, settlements: { count: Number(row.n), amount: amountOf(row.amount), final } };
  } finally {
    db.close();
  }
}

export async function runSimulation(options: SimOptions, io: SimIo): Promise<{ facts: RunFacts; world: World }> {
  const plan = buildPlan(options);
  const metrics = new SimMetrics();
  const since = (startMs: number) => `${((io.clock.nowMs() - startMs) / 1000).toFixed(1)} s`;
  let mark = io.clock.nowMs();
  const world = await buildWorld(plan, options, io.random, io.clock.nowMs());
  io.note?.(`broker up on 127.0.0.1:${world.mqttPort} (data ${world.dataDir}); ${plan.options.devices} devices enrolled and funded in ${since(mark)}`);
  try {
    mark = io.clock.nowMs();
    const devices = await startDevices(world, plan, metrics, io);
    io.note?.(`${devices.fleet.agents.size} agents and ${devices.rogues.length} rogue${devices.rogues.length === 1 ? "" : "s"} connected in ${since(mark)}`);
    const phase = await runPhase(world, plan, metrics, devices, io);
    mark = io.clock.nowMs();
    const { pendingAfterDrain, snapshots } = await windDown(world, devices, phase, options, io);
    io.note?.(`wound down in ${since(mark)}: ${pendingAfterDrain === 0 ? 'every stored voucher answered' : `${pendingAfterDrain} vouchers still unanswered`}; broker stopped`);
    mark = io.clock.nowMs();
    const verdict = await judge(world, devices, snapshots);
    io.note?.(`final settlement (${verdict.final.channels} channels, ${verdict.final.amount}) and checks in ${since(mark)}`);
    return { facts: factsOf(plan, metrics, world, devices, phase, pendingAfterDrain, snapshots, verdict), world };
  } catch (error) {
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
