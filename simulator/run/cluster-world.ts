// The world of `mqpay sim --cluster` [issue 15]: instead of one broker process, a local cluster
// started with `clusterUp` in a temporary directory (PostgreSQL, the auth service, a two-node
// RabbitMQ cluster, N workers). Honest agents connect through a fault proxy per node, half of
// them to each node first, with the other node's proxy as their failover URL; rogues connect
// straight to node A (the node the simulator never stops). The fleet is enrolled and funded in
// the PostgreSQL ledger through the store port; attacks are judged on the auth service's log
// (its refusals and ACL violations) and on that ledger. The end checks wait for the settlement
// leader's epochs to settle everything, then run on PostgreSQL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterDown, clusterUp } from '../../broker/cluster/cluster-up.js';
import { readClusterState, type ClusterState } from '../../broker/cluster/cluster-state.js';
import { stopPostgresNowSync } from '../../broker/cluster/postgres-server.js';
import { loadOrCreateServiceKeyFile } from '../../broker/service-key.js';
import { openStore, type OpenedStore } from '../../broker/store/open-store.js';
import { formatAmount, type Amount } from '../../shared/amount.js';
import { toHex } from '../../shared/hex.js';
import type { RandomBytes } from '../../shared/ids.js';
import type { SimPlan } from '../plan/plan.js';
import { runClusterFaults } from './fault-runner.js';
import { judgeLedger, type FinalSettlement } from '../verdict/verdict.js';
import { BrokerLog } from '../world/broker-log.js';
import { ClusterService } from '../world/cluster-service.js';
import { createDeviceKeys, fundingKeyOf, type Enrolment } from '../world/enrolment.js';
import { bigintOf, postgresQuery, type LedgerQuery } from '../world/ledger-query.js';
import { LedgerReader } from '../world/ledger-reader.js';
import { LogTail } from '../world/log-tail.js';
import { ProxyGroup } from '../world/proxy-group.js';
import { agentsDirOf, OPERATOR_TOKEN_BYTES, SIM_BROKER_ID, type ClusterSide, type World, type WorldOptions } from '../world/sim-world.js';
import type { SimMetrics } from '../actors/metrics.js';
import type { RogueDevice } from '../actors/rogue-device.js';
import type { FaultTiming } from './fault-runner.js';
import type { Snapshots, Verdict } from '../verdict/verdict.js';

export interface ClusterWorldOptions extends WorldOptions {
  readonly workers: number;
  /** After the fleet stopped, how long the leader's epochs may take to settle everything. */
  readonly settleTimeoutMs: number;
  readonly say: (line: string) => void;
}

const SETTLED_POLL_MS = 250;

const portOf = (url: string): number => Number(new URL(url).port);

async function enrolInStore(store: OpenedStore, plan: SimPlan, agentsDir: string, servicePublicKey: string, random: RandomBytes, nowMs: number): Promise<Enrolment> {
  const { homes, rogueKeys, publicKeys } = createDeviceKeys({ agentsDir, devices: plan.fleet.devices, brokerId: SIM_BROKER_ID, servicePublicKey, random });
  const funded = new Map<string, Amount>();
  await store.store.transaction(async (tx) => {
    for (const device of plan.fleet.devices) {
      await tx.addDevice(device.id, publicKeys.get(device.id) ?? new Uint8Array(), nowMs);
      await tx.fund({ device: device.id, amount: device.funding, key: fundingKeyOf(device.id), nowMs });
      funded.set(device.id, device.funding);
    }
  });
  return { servicePublicKey, homes, rogueKeys, funded };
}

/** Waits until no channel has anything unsettled; what the settlements made meanwhile came to. */
async function settledByLeader(query: LedgerQuery, timeoutMs: number): Promise<FinalSettlement> {
  const [before] = await query('SELECT count(*) AS n, COALESCE(SUM(latest_total - settled_total), 0) AS pending, (SELECT COALESCE(MAX(position), 0) FROM settlements) AS last FROM channels WHERE latest_total <> settled_total');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await query('SELECT count(*) AS n FROM channels WHERE latest_total <> settled_total');
    if (bigintOf(row?.n ?? 0) === 0n || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, SETTLED_POLL_MS));
  }
  const [last] = await query('SELECT id FROM settlements WHERE position > ? ORDER BY position DESC LIMIT 1', [bigintOf(before?.last ?? 0)]);
  return { id: last === undefined ? null : String(last.id), channels: Number(bigintOf(before?.n ?? 0)), amount: formatAmount(bigintOf(before?.pending ?? 0) as Amount) };
}

/** What a run does with a cluster beyond its world: its faults and its verdict on PostgreSQL. */
export interface ClusterRun extends ClusterSide {
  runFaults(plan: SimPlan, metrics: SimMetrics, timing: FaultTiming): Promise<void>;
  verdict(world: World, views: { rogues: readonly RogueDevice[]; snapshots: Snapshots }): Promise<Verdict>;
}

function clusterSide(dir: string, parts: { store: OpenedStore; workers: ClusterService; authLog: LogTail; proxies: ProxyGroup; agentsDir: string; options: ClusterWorldOptions; unguard: () => void }): ClusterRun {
  const query = postgresQuery(parts.store.pool ?? unreachable());
  return {
    runFaults: (plan, metrics, timing) => runClusterFaults(plan, parts.workers, metrics, timing),
    async verdict(world, views) {
      const final = await settledByLeader(query, parts.options.settleTimeoutMs);
      return judgeLedger(query, await parts.store.audit(), world.enrolment.funded, views, final);
    },
    async close(removeData) {
      parts.authLog.close();
      await parts.proxies.close().catch(() => undefined);
      await parts.store.close().catch(() => undefined);
      await clusterDown(dir);
      parts.unguard();
      rmSync(parts.agentsDir, { recursive: true, force: true });
      if (removeData) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function unreachable(): never {
  throw new Error('the cluster ledger is PostgreSQL: install postgresql');
}

async function startCluster(dir: string, options: ClusterWorldOptions, operatorToken: string): Promise<ClusterState> {
  const state = await clusterUp({
    dir, workers: options.workers, bin: options.brokerEntry, brokerId: SIM_BROKER_ID, operatorToken, say: options.say,
    workerArgs: ['--epoch-seconds', String(options.epochSeconds), '--log-level', 'warn'],
  });
  if (state.store.kind !== 'postgres') {
    await clusterDown(dir);
    unreachable();
  }
  return state;
}

/**
 * A simulator that exits at once (a second Ctrl-C) cannot wait for `cluster down`: it SIGKILLs
 * the process groups of the workers, the RabbitMQ nodes and the auth service on its way out, and
 * shuts PostgreSQL down immediately (SIGQUIT to its postmaster). The temporary directory stays.
 */
function killOnExit(dir: string): () => void {
  const guard = () => {
    const state = readClusterState(dir);
    if (state === null) return;
    for (const pid of [...state.workers.map((worker) => worker.pid), ...state.rabbit.map((node) => node.pid), state.auth.pid]) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (state.store.postgresDir !== null) stopPostgresNowSync(state.store.postgresDir);
  };
  process.once('exit', guard);
  return () => void process.off('exit', guard);
}

export async function buildClusterWorld(plan: SimPlan, options: ClusterWorldOptions, random: RandomBytes, nowMs: number): Promise<{ world: World; cluster: ClusterRun }> {
  const dir = mkdtempSync(join(tmpdir(), 'mqpay-sim-cluster-'));
  const operatorToken = toHex(random(OPERATOR_TOKEN_BYTES));
  const state = await startCluster(dir, options, operatorToken);
  const unguard = killOnExit(dir);
  const agentsDir = agentsDirOf(dir);
  const store = await openStore(state.store.url);
  let authLog: LogTail | null = null;
  let proxies: ProxyGroup | null = null;
  try {
    const servicePublicKey = toHex(loadOrCreateServiceKeyFile(join(dir, 'service.key'), random).publicKey);
    const enrolment = await enrolInStore(store, plan, agentsDir, servicePublicKey, random, nowMs);
    const brokerLog = new BrokerLog();
    authLog = new LogTail(join(dir, 'logs', 'auth.log'), (line) => brokerLog.line(line));
    proxies = await ProxyGroup.open(state.rabbit.map((node) => portOf(node.mqttUrl)));
    const group = proxies;
    const workers = new ClusterService(dir);
    const nodeA = state.rabbit[0]?.mqttUrl ?? unreachable();
    const urlIndex = new Map(plan.honestIds.map((device, index) => [device, index]));
    const cluster = clusterSide(dir, { store, workers, authLog, proxies, agentsDir, options, unguard });
    const world: World = {
      cluster, dataDir: dir, temporary: true, agentsDir, enrolment, operatorToken, mqttPort: portOf(nodeA), httpPort: null, brokerLog,
      broker: workers, brokerProcess: null, proxy: proxies,
      // Its own node first, then the others: the link fails over along the list.
      agentUrl: (device) => {
        const first = (urlIndex.get(device) ?? 0) % group.urls.length;
        return [...group.urls.slice(first), ...group.urls.slice(0, first)].join(',');
      },
      brokerUrl: nodeA, ledger: LedgerReader.postgres(store.pool ?? unreachable()),
    };
    return { world, cluster };
  } catch (error) {
    authLog?.close();
    await proxies?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    await clusterDown(dir).catch(() => undefined);
    unguard();
    rmSync(agentsDir, { recursive: true, force: true });
    throw error;
  }
}
