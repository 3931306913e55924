// Stops a process this cluster started, by its id: SIGTERM (each of our servers winds down on it),
// then SIGKILL to its whole process group past the timeout. Works for a process started by another
// `mqpay` run (`cluster down` reads the ids from the state file), so it polls rather than waiting
// on an 'exit' event that only the parent sees. Safe on a process that is already gone.
import { setTimeout as sleep } from 'node:timers/promises';
import { CHILD_STOP_TIMEOUT_MS } from '../limits.js';

const POLL_MS = 50;

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: gone. EPERM: some other user's process reusing the id, not one of ours.
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

/**
 * Resolves true when the process stopped on SIGTERM, false when it had to be killed.
 * `group`: the process leads its own group (spawned detached), so SIGKILL reaches its children too.
 */
export async function stopProcess(pid: number, options: { timeoutMs?: number; group?: boolean } = {}): Promise<boolean> {
  if (!Number.isSafeInteger(pid) || pid <= 1) throw new Error(`refusing to signal pid ${pid}`);
  if (!isAlive(pid)) return true;
  signal(pid, 'SIGTERM');
  if (await waitGone(pid, options.timeoutMs ?? CHILD_STOP_TIMEOUT_MS)) return true;
  signal(options.group === true ? -pid : pid, 'SIGKILL');
  await waitGone(pid, CHILD_STOP_TIMEOUT_MS);
  return false;
}
