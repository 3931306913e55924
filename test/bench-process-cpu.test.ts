// bench/process-cpu.ts, which the cluster bench reads each process's CPU with: a process tree's
// time counts a live descendant's CPU, and keeps counting it once that descendant has exited and
// been reaped (into its parent's cutime/cstime), as PostgreSQL's autovacuum workers do. A real
// child burns CPU in a grandchild and reports how much; nothing is timed by the wall clock.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { cpuBetween, procAvailable, treeCpu } from '../bench/process-cpu.js';

/** CPU the grandchild burns, in microseconds (many clock ticks of 10 ms). */
const BURN_US = 300_000;
/** /proc counts in ticks of 10 ms: each of the two readings may lose up to one per process. */
const TICK_SLACK_US = 40_000;

// The child starts a grandchild that burns BURN_US of its own CPU, prints `burned <us>`, and
// exits on a line from its stdin; the child relays the line and prints `reaped` once the
// grandchild is gone, then stays alive until its own stdin closes.
const GRANDCHILD = `
const started = process.cpuUsage();
let used = 0;
while (used < ${BURN_US}) { const c = process.cpuUsage(started); used = c.user + c.system; }
console.log('burned ' + used);
process.stdin.once('data', () => process.exit(0));
`;
const CHILD = `
const { spawn } = require('node:child_process');
const grandchild = spawn(process.execPath, ['-e', ${JSON.stringify(GRANDCHILD)}], { stdio: ['pipe', 'inherit', 'inherit'] });
process.stdin.once('data', () => grandchild.stdin.write('exit\\n'));
grandchild.once('exit', () => { console.log('reaped'); process.stdin.resume(); });
`;

function lines(child: ChildProcess): AsyncIterator<string> {
  const queue: string[] = [];
  let wake: (() => void) | null = null;
  child.stdout?.on('data', (chunk: Buffer) => {
    queue.push(...chunk.toString().split('\n').filter((line) => line.length > 0));
    wake?.();
  });
  return {
    async next() {
      while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return { value: queue.shift() ?? '', done: false };
    },
  };
}

describe.skipIf(!procAvailable())('bench/process-cpu.ts: CPU of process trees from /proc', () => {
  let child: ChildProcess | null = null;
  afterEach(async () => {
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });

  it('counts a live descendant, and keeps counting it after it was reaped', async () => {
    child = spawn(process.execPath, ['-e', CHILD], { stdio: ['pipe', 'pipe', 'inherit'] });
    const roots = new Map([['tree', child.pid ?? 0]]);
    const before = treeCpu(roots);
    const output = lines(child);
    const burned = Number(/^burned (\d+)$/.exec((await output.next()).value)?.[1]);
    expect(burned).toBeGreaterThanOrEqual(BURN_US);
    const live = cpuBetween(before ?? new Map(), treeCpu(roots) ?? new Map()).get('tree') ?? 0;
    expect(live).toBeGreaterThanOrEqual(burned - TICK_SLACK_US);

    child.stdin?.write('exit\n');
    expect((await output.next()).value).toBe('reaped');
    const reaped = cpuBetween(before ?? new Map(), treeCpu(roots) ?? new Map()).get('tree') ?? 0;
    expect(reaped).toBeGreaterThanOrEqual(burned - TICK_SLACK_US);
    // A tree that is not ours counts nothing of it.
    expect(treeCpu(new Map([['other', 999_999_999]]))?.get('other')).toBe(0);
  });
});
