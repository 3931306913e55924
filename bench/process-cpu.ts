// CPU time of whole processes and their descendants, from Linux's /proc/PID/stat, for the cluster
// bench: RabbitMQ's Erlang VM (beam.smp under the rabbitmq-server script), PostgreSQL's postmaster
// and its backends, and our own child processes are each read from outside, before and after a
// run. A process tree's time is utime + stime + cutime + cstime of every live member: a child that
// ended (an autovacuum worker, a helper) has been reaped into its parent's cutime/cstime, so
// nothing is counted twice or lost. Elsewhere (no /proc) it reports null and the bench says so.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** Linux's USER_HZ, the unit of the stat times, on every architecture Node supports. */
const MICROSECONDS_PER_TICK = 10_000;

export const procAvailable = (): boolean => existsSync('/proc/self/stat');

interface ProcStat { readonly pid: number; readonly ppid: number; readonly comm: string; readonly cpuUs: number }

function readStat(pid: number): ProcStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    // Fields after the command name (which may hold spaces): state, ppid, ... utime (index 11),
    // stime, cutime, cstime.
    const fields = stat.slice(close + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    return { pid, ppid: Number(fields[1]), comm: stat.slice(open + 1, close), cpuUs: ticks * MICROSECONDS_PER_TICK };
  } catch {
    // The process ended between the listing and the read: its time is in its parent's cutime.
    return null;
  }
}

function allProcesses(): ProcStat[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).flatMap((name) => readStat(Number(name)) ?? []);
}

/** `root` and its live descendants. */
function treeOf(root: number, processes: readonly ProcStat[]): ProcStat[] {
  const members = new Set([root]);
  // Parents may have higher pids than their children after a wrap: repeat until nothing is added.
  for (let grew = true; grew;) {
    grew = false;
    for (const entry of processes) {
      if (!members.has(entry.pid) && members.has(entry.ppid)) {
        members.add(entry.pid);
        grew = true;
      }
    }
  }
  return processes.filter((entry) => members.has(entry.pid));
}

/** CPU microseconds so far of each named process tree (by its root pid); null without /proc. */
export function treeCpu(roots: ReadonlyMap<string, number>): Map<string, number> | null {
  if (!procAvailable()) return null;
  const processes = allProcesses();
  return new Map([...roots].map(([name, root]) => [name, treeOf(root, processes).reduce((sum, entry) => sum + entry.cpuUs, 0)]));
}

/** CPU microseconds used by each tree between two `treeCpu` snapshots. */
export function cpuBetween(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Map<string, number> {
  return new Map([...after].map(([name, us]) => [name, us - (before.get(name) ?? 0)]));
}
