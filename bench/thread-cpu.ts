// CPU time of each thread of this process, from Linux's /proc/self/task/*/stat (utime + stime,
// in clock ticks of 10 ms): process.cpuUsage() sums every thread, and the broker benches need to
// tell the event loop from the verify worker and V8's helpers. Elsewhere (no /proc) it reports
// nothing and the benches print the process totals only.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const TASKS = '/proc/self/task';
/** Linux's USER_HZ, the unit of utime and stime, on every architecture Node supports. */
const MICROSECONDS_PER_TICK = 10_000;

/** CPU microseconds so far by thread id; empty without /proc. */
export function threadCpu(): Map<number, number> {
  const threads = new Map<number, number>();
  if (!existsSync(TASKS)) return threads;
  for (const tid of readdirSync(TASKS)) {
    try {
      const stat = readFileSync(`${TASKS}/${tid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces, so cut at its closing parenthesis).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      threads.set(Number(tid), (Number(fields[11]) + Number(fields[12])) * MICROSECONDS_PER_TICK);
    } catch {
      // The thread ended between the listing and the read: it is not counted.
    }
  }
  return threads;
}

/** Where the CPU between two snapshots went: the main thread, the busiest other thread, the rest. */
export interface ThreadSplit { readonly mainUs: number; readonly busiestOtherUs: number; readonly restUs: number }

export function threadSplit(before: Map<number, number>, after: Map<number, number>): ThreadSplit | null {
  if (after.size === 0) return null;
  const others: number[] = [];
  let mainUs = 0;
  for (const [tid, us] of after) {
    const used = us - (before.get(tid) ?? 0);
    if (tid === process.pid) mainUs = used;
    else others.push(used);
  }
  others.sort((a, b) => b - a);
  const busiestOtherUs = others[0] ?? 0;
  return { mainUs, busiestOtherUs, restUs: others.slice(1).reduce((sum, us) => sum + us, 0) };
}
