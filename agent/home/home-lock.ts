// One running agent per home. Two processes with the same device id would take the MQTT
// session from each other in turn, so the second agent on a home must refuse to start.
//
// The lock is an operating-system lock, not a pid file: a SQLite connection on `agent.lock.db`
// in locking_mode=EXCLUSIVE holding BEGIN EXCLUSIVE for the life of the agent. The kernel drops
// the lock when the process dies, however it dies (SIGKILL, power cut), so a restart never finds
// a stale lock; a pid file could name a pid that the next boot gave to an unrelated process and
// make the agent refuse to start. The old pid file (`agent.lock`, before this lock) is ignored
// and removed: it proves nothing.
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { MqpayError } from '../../shared/errors.js';

export const LOCK_FILE = 'agent.lock.db';
/** The pid file earlier versions wrote; left behind by a crash, it must not block a start. */
export const OLD_LOCK_FILE = 'agent.lock';

const isBusy = (error: unknown): boolean => {
  const code = (error as { code?: unknown }).code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
};

/** Takes the home's lock; returns the function that releases it. */
export function lockHome(home: string): () => void {
  const path = join(home, LOCK_FILE);
  const db = new Database(path);
  try {
    // No waiting: the holder is a running agent that keeps the lock until it stops.
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    db.close();
    if (isBusy(error)) throw new MqpayError('HOME_LOCKED', `another agent is already running on home ${home} (it holds the lock ${path}); stop it, or use another home`);
    throw error;
  }
  rmSync(join(home, OLD_LOCK_FILE), { force: true });
  let released = false;
  return () => {
    if (released) return;
    released = true;
    db.exec('ROLLBACK');
    db.close();
  };
}
