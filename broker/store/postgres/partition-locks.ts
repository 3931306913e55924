// Partition leases of the cluster's workers [issue 15]: session-level PostgreSQL advisory locks on
// one dedicated connection per worker (like the settlement leader's, leader.ts): a killed worker's
// session ends and its locks go with it. Two key ranges share the high word 'mqpa':
//   - a worker slot ('s' + index): every live worker holds exactly one, so the count of slots held
//     in this database (pg_locks) is the count of live workers, with no heartbeat row to expire;
//   - a partition ('p' + index): held by the worker that consumes that outbox partition.
// pg_locks shows a bigint advisory key as classid (high 32 bits), objid (low 32 bits), objsubid 1.
import pg from 'pg';
import { assert } from '../../../shared/errors.js';
import { WORKER_SLOTS_MAX } from '../../limits.js';
import { connectionOf } from './leader.js';
import { ignoreConnectionErrors, rowOf } from './pool.js';

const KEY_HIGH = 0x6d717061n; // 'mqpa'
const SLOT_BASE = 0x73000000n; // 's'
const PARTITION_BASE = 0x70000000n; // 'p'
const keyOf = (low: bigint): bigint => (KEY_HIGH << 32n) | low;
export const workerSlotKey = (slot: number): bigint => keyOf(SLOT_BASE + BigInt(slot));
export const partitionLockKey = (partition: number): bigint => keyOf(PARTITION_BASE + BigInt(partition));

const LIVE_WORKERS = `SELECT count(*)::int AS n FROM pg_locks
  WHERE locktype = 'advisory' AND granted AND objsubid = 1
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND classid::bigint = $1 AND objid::bigint >= $2 AND objid::bigint < $3`;

export class PartitionLocks {
  /** Settles when the session (and with it every lock of this worker) is lost. */
  readonly lost: Promise<void>;
  private closed = false;

  private constructor(private readonly client: pg.Client, readonly slot: number) {
    this.lost = new Promise<void>((resolve) => {
      client.once('end', () => resolve());
      client.on('error', () => resolve());
    });
  }

  /** Connects and takes a free worker slot; throws when all WORKER_SLOTS_MAX are held. */
  static async open(pool: pg.Pool): Promise<PartitionLocks> {
    const client = new pg.Client(connectionOf(pool));
    ignoreConnectionErrors(client);
    await client.connect();
    try {
      for (let slot = 0; slot < WORKER_SLOTS_MAX; slot += 1) {
        if (await tryLock(client, workerSlotKey(slot))) return new PartitionLocks(client, slot);
      }
      throw new Error(`all ${WORKER_SLOTS_MAX} worker slots are held: too many workers on this database`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  /** Workers holding a slot now (this one included: at least 1). */
  async liveWorkers(): Promise<number> {
    const row = await rowOf<{ n: number }>(this.client, LIVE_WORKERS, [KEY_HIGH, SLOT_BASE, SLOT_BASE + BigInt(WORKER_SLOTS_MAX)]);
    const count = row?.n ?? 0;
    assert(count >= 1, 'this worker holds a slot, so at least one worker is live');
    return count;
  }

  tryLock(partition: number): Promise<boolean> {
    return tryLock(this.client, partitionLockKey(partition));
  }

  async unlock(partition: number): Promise<void> {
    const row = await rowOf<{ unlocked: boolean }>(this.client, 'SELECT pg_advisory_unlock($1) AS unlocked', [partitionLockKey(partition)]);
    assert(row?.unlocked === true, `partition ${partition} was locked by this session`);
  }

  /** Ends the session: every lock of this worker is released with it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.end().catch(() => undefined);
  }
}

async function tryLock(client: pg.Client, key: bigint): Promise<boolean> {
  const row = await rowOf<{ locked: boolean }>(client, 'SELECT pg_try_advisory_lock($1) AS locked', [key]);
  return row?.locked === true;
}
