// The workers of a simulated cluster, as the run sees its service: up while every worker is
// alive, and killable. A kill is a power cut (SIGKILL, no goodbye); the replacement is the same
// command line (read from /proc before the kill), appending to the same log, and counts as up
// once it says it consumes. The cluster's state file is rewritten with the new pid, so
// `cluster down` stops the replacement too.
import { readFileSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLUSTER_CHILD_START_TIMEOUT_MS } from '../../broker/limits.js';
import { logHas, spawnDaemon, waitUntil } from '../../broker/cluster/daemon.js';
import { readClusterState, writeClusterState, type ClusterState } from '../../broker/cluster/cluster-state.js';
import { isAlive } from '../../broker/cluster/stop-process.js';
import type { ServiceHandle } from './sim-world.js';

const EXIT_POLL_MS = 20;

type WorkerEntry = ClusterState['workers'][number];

/** A process's command line (Linux /proc), as spawn's command and arguments. */
function commandLineOf(pid: number): { command: string; args: string[] } {
  const parts = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((part) => part !== '');
  const [command, ...args] = parts;
  if (command === undefined) throw new Error(`process ${pid} has no command line`);
  return { command, args };
}

export class ClusterWorkers implements ServiceHandle {
  generation = 1;
  /** Workers the simulator did not kill that are gone. */
  private readonly killed = new Set<number>();
  private replacing = 0;

  constructor(private readonly dir: string) {}

  private workers(): readonly WorkerEntry[] {
    return readClusterState(this.dir)?.workers ?? [];
  }

  get count(): number {
    return this.workers().length;
  }

  get up(): boolean {
    return this.replacing === 0 && this.workers().every((worker) => isAlive(worker.pid));
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

  /** SIGKILLs worker `index` (modulo the count) and starts the same command again; resolves once it consumes. */
  async killAndReplace(index: number): Promise<string> {
    const workers = this.workers();
    const victim = workers[index % workers.length];
    if (victim === undefined) throw new Error('the cluster has no workers to kill');
    const { command, args } = commandLineOf(victim.pid);
    this.replacing += 1;
    try {
      this.killed.add(victim.pid);
      process.kill(victim.pid, 'SIGKILL');
      while (isAlive(victim.pid)) await sleep(EXIT_POLL_MS);
      this.generation += 1;
      const from = statSync(victim.log).size;
      const pid = spawnDaemon({ command, args, env: process.env, logFile: victim.log, outliveParent: true });
      this.replaceEntry(victim, pid);
      await waitUntil(`worker ${victim.id}`, pid, victim.log, CLUSTER_CHILD_START_TIMEOUT_MS, () => logHas(victim.log, /consuming/, from));
      return victim.id;
    } finally {
      this.replacing -= 1;
    }
  }

  private replaceEntry(victim: WorkerEntry, pid: number): void {
    const state = readClusterState(this.dir);
    if (state === null) throw new Error(`the cluster state in ${this.dir} is gone`);
    writeClusterState(this.dir, { ...state, workers: state.workers.map((worker) => (worker.pid === victim.pid ? { ...worker, pid } : worker)) });
  }
}
