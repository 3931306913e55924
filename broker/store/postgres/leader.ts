// The settlement leader of a cluster: epochs run in one worker at a time, the one holding a
// session-level PostgreSQL advisory lock on its own dedicated connection (not a pooled one: the
// lock belongs to the session, so it must not be handed to another query). If the leader dies
// or its connection breaks, PostgreSQL releases the lock and another worker's next try takes
// it. Settlement stays correct without it (epochs lock `channels` and settlement ids are
// unique); the lock keeps workers from settling the same changes twice in a row for nothing.
import pg from 'pg';
import { assert } from '../../../shared/errors.js';
import { ignoreConnectionErrors, rowOf } from './pool.js';

/** The advisory lock key of the settlement leader ('mqpay' + 2). */
export const SETTLEMENT_LEADER_LOCK_KEY = 0x6d717061_79000002n;

export interface SettlementLeadership {
  /** Settles when the lock is lost with its connection (the holder must stop settling). */
  readonly lost: Promise<void>;
  /** Releases the lock and closes its connection. */
  release(): Promise<void>;
}

/** The connection settings of a pool (a lock holder's own connection goes to the same database). */
export function connectionOf(pool: pg.Pool): pg.ClientConfig {
  const options = (pool as unknown as { options: pg.PoolConfig }).options;
  assert(options !== undefined, 'a pg Pool keeps its options');
  return { ...options };
}

/**
 * Takes the settlement leadership if no other session holds it; null otherwise (try again later).
 * `pool` gives the database to connect to; the lock is held on a connection of its own.
 */
export async function tryAcquireSettlementLeader(pool: pg.Pool): Promise<SettlementLeadership | null> {
  const client = new pg.Client(connectionOf(pool));
  ignoreConnectionErrors(client);
  await client.connect();
  let acquired = false;
  try {
    const row = await rowOf<{ locked: boolean }>(client, 'SELECT pg_try_advisory_lock($1) AS locked', [SETTLEMENT_LEADER_LOCK_KEY]);
    acquired = row?.locked === true;
  } finally {
    if (!acquired) await client.end();
  }
  if (!acquired) return null;
  let released = false;
  const lost = new Promise<void>((resolve) => {
    client.once('end', () => resolve());
    client.on('error', () => resolve());
  });
  return {
    lost,
    async release() {
      if (released) return;
      released = true;
      await client.query('SELECT pg_advisory_unlock($1)', [SETTLEMENT_LEADER_LOCK_KEY]).catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}
