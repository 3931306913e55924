// A simulated cluster as the run sees its service, and its faults. It is up while every worker is
// alive and no fault is under way; each fault starts a new generation, so an attack it overlapped
// counts as interrupted, as with a broker restart.
// - A worker kill is a power cut (SIGKILL, no goodbye); the replacement is the same command line
//   and environment (read from /proc before the kill), appending to the same log, up once it says it consumes.
// - A RabbitMQ node is stopped (SIGTERM: the node leaves cleanly) and started again with the same
//   environment (read from /proc: name, directories, ports), so it rejoins the cluster.
// - PostgreSQL is stopped (fast shutdown: every session cut) and started on the same data and port.
// The cluster's state file is rewritten with each new pid, so `cluster down` stops the new ones.
import { readFileSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, join } from 'node:path';
import { CLUSTER_CHILD_START_TIMEOUT_MS, RABBIT_STOP_TIMEOUT_MS } from '../../broker/limits.js';
import { logHas, spawnDaemon, waitUntil } from '../../broker/cluster/daemon.js';
import { readClusterState, writeClusterState, type ClusterState } from '../../broker/cluster/cluster-state.js';
import { startPostgres, stopPostgres } from '../../broker/cluster/postgres-server.js';
import { RABBIT_SERVER_BIN } from '../../broker/cluster/rabbitmq/rabbit-env.js';
import { waitUntilListening } from '../../broker/cluster/rabbitmq/rabbit-node.js';
import { isAlive, stopProcess } from '../../broker/cluster/stop-process.js';
import type { ServiceHandle } from './sim-world.js';

const EXIT_POLL_MS = 20;

type WorkerEntry = ClusterState['workers'][number];

/** A process's environment (Linux /proc). */
function environmentOf(pid: number): NodeJS.ProcessEnv {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter((entry) => entry.includes('='));
  return Object.fromEntries(entries.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
}

/** A process's command line (Linux /proc), as spawn's command and arguments. */
function commandLineOf(pid: number): { command: string; args: string[] } {
  const parts = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((part) => part !== '');
  const [command, ...args] = parts;
  if (command === undefined) throw new Error(`process ${pid} has no command line`);
  return { command, args };
}

export class ClusterService implements ServiceHandle {
  generation = 1;
  /** Workers the simulator killed (the others must stay alive). */
  private readonly killed = new Set<number>();
  private faultsUnderWay = 0;

  constructor(private readonly dir: string) {}

  private workers(): readonly WorkerEntry[] {
    return readClusterState(this.dir)?.workers ?? [];
  }

  get count(): number {
    return this.workers().length;
  }

  get up(): boolean {
    return this.faultsUnderWay === 0 && this.workers().every((worker) => isAlive(worker.pid));
  }

  get unexpectedExits(): number {
    return this.workers().filter((worker) => !this.killed.has(worker.pid) && !isAlive(worker.pid)).length;
  }

  async whenUp(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.up) {
      if (Date.now() > deadline) return false;
      await sleep(EXIT_POLL_MS * 5);
    }
    return true;
  }

  rssBytes(): number | null {
    return null;
  }

  /** Workers keep settling after the fleet stopped; `cluster down` stops them at the end. */
  async stop(): Promise<void> {}

  /** Runs a fault: the service counts as down meanwhile, and a new generation starts. */
  private async outage<T>(fault: () => Promise<T>): Promise<T> {
    this.faultsUnderWay += 1;
    this.generation += 1;
    try {
      return await fault();
    } finally {
      this.faultsUnderWay -= 1;
    }
  }

  private state(): ClusterState {
    const state = readClusterState(this.dir);
    if (state === null) throw new Error(`the cluster state in ${this.dir} is gone`);
    return state;
  }

  /** SIGKILLs worker `index` (modulo the count) and starts the same command again; resolves once it consumes. */
  killAndReplace(index: number): Promise<string> {
    return this.outage(async () => {
      const workers = this.workers();
      const victim = workers[index % workers.length];
      if (victim === undefined) throw new Error('the cluster has no workers to kill');
      const { command, args } = commandLineOf(victim.pid);
      const env = environmentOf(victim.pid); // the operator token of a worker serving the API comes this way
      this.killed.add(victim.pid);
      process.kill(victim.pid, 'SIGKILL');
      while (isAlive(victim.pid)) await sleep(EXIT_POLL_MS);
      const from = statSync(victim.log).size;
      const pid = spawnDaemon({ command, args, env, logFile: victim.log, outliveParent: true });
      this.replaceEntry(victim, pid);
      await waitUntil(`worker ${victim.id}`, pid, victim.log, CLUSTER_CHILD_START_TIMEOUT_MS, () => logHas(victim.log, /consuming/, from));
      return victim.id;
    });
  }

  /** Stops RabbitMQ node `index` cleanly and starts it again; resolves once its listeners accept. */
  restartNode(index: number): Promise<string> {
    return this.outage(async () => {
      const node = this.state().rabbit[index];
      if (node === undefined) throw new Error(`the cluster has no node ${index}`);
      const env = environmentOf(node.pid);
      const dir = dirname(env.RABBITMQ_MNESIA_BASE ?? '');
      await stopProcess(node.pid, { timeoutMs: RABBIT_STOP_TIMEOUT_MS, group: true });
      const pid = spawnDaemon({ command: RABBIT_SERVER_BIN, args: [], env, cwd: dir, logFile: join(dir, 'log', 'stdout.log'), outliveParent: true });
      const state = this.state();
      writeClusterState(this.dir, { ...state, rabbit: state.rabbit.map((entry) => (entry.name === node.name ? { ...entry, pid } : entry)) });
      await waitUntilListening({ pid, nodeName: node.name, dir, amqpPort: Number(env.RABBITMQ_NODE_PORT), mqttPort: Number(new URL(node.mqttUrl).port) });
      return node.name;
    });
  }

  /** Stops the cluster's PostgreSQL (every session cut) and starts it again on the same data and port. */
  restartPostgres(): Promise<void> {
    return this.outage(async () => {
      const postgresDir = this.state().store.postgresDir;
      if (postgresDir === null) throw new Error('this cluster\'s PostgreSQL was not started by it');
      await stopPostgres(postgresDir);
      await startPostgres({ dir: postgresDir });
    });
  }

  private replaceEntry(victim: WorkerEntry, pid: number): void {
    const state = this.state();
    writeClusterState(this.dir, { ...state, workers: state.workers.map((worker) => (worker.pid === victim.pid ? { ...worker, pid } : worker)) });
  }
}
