// One running agent per home. Two processes with the same device id would take the MQTT
// session from each other in turn; the lock names the running process so the second one can
// say who holds it. A lock left by a killed process (its pid is gone) is taken over.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MqpayError } from '../../shared/errors.js';

export const LOCK_FILE = 'agent.lock';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function holderOf(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Takes the home's lock; returns the function that releases it. */
export function lockHome(home: string): () => void {
  const path = join(home, LOCK_FILE);
  for (;;) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = holderOf(path);
    if (holder !== null && holder !== process.pid && isRunning(holder)) {
      throw new MqpayError('DEVICE_EXISTS', `an agent is already running on ${home} (pid ${holder})`);
    }
    rmSync(path, { force: true });
  }
}
