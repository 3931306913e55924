// Which outbox partitions this worker consumes [issue 15]. Single-active-consumer alone keeps the
// first worker active on every partition and leaves the next ones standing by: more workers, no
// more throughput. So over PostgreSQL every worker leases a fair share of the partitions
// (advisory locks, broker/store/postgres/partition-locks.ts) and consumes only those. Every
// PARTITION_REBALANCE_MS it counts the live workers (the worker slots held), and:
//   - releases what exceeds its share ceil(partitions / live): cancels the consumer, waits for
//     its messages in flight to be committed and acknowledged [docs/DESIGN.md rule 5], and only
//     then unlocks, so the next holder starts after the last ack (nothing judged twice, order kept);
//   - takes free partitions up to its share (lock first, then basic.consume).
// A killed worker's session ends with its locks and slot: the survivors count one worker fewer and
// take its partitions at their next re-balance; RabbitMQ redelivers what it held unacknowledged.
// If this worker's lease session is lost, it stops consuming everything (another worker may lock
// its partitions now) and opens a new session at the next re-balance. Over SQLite (one machine,
// no shared locks) the worker consumes every partition, as single-active-consumer arranges.
import type pg from 'pg';
import type { Logger } from 'pino';
import { PARTITION_REBALANCE_MS } from '../../limits.js';
import { PartitionLocks } from '../../store/postgres/partition-locks.js';
import type { OutboxConsumer } from './outbox-consumer.js';

export interface PartitionAssignment {
  /** The partitions this worker consumes now, in order. */
  readonly held: () => readonly number[];
  /** Stops re-balancing (before the consumer stops, so that no round consumes again meanwhile). */
  stop(): Promise<void>;
  /** Ends the lease session, releasing every lease (after the consumer has stopped and acknowledged). */
  close(): Promise<void>;
}

/** Over SQLite: every partition, for the worker's whole life. */
export async function allPartitions(consumer: OutboxConsumer, partitions: number): Promise<PartitionAssignment> {
  for (let index = 0; index < partitions; index += 1) await consumer.assign(index);
  return { held: () => consumer.partitions, stop: async () => undefined, close: async () => undefined };
}

/** Over PostgreSQL: a leased fair share, re-balanced every PARTITION_REBALANCE_MS. Resolves after the first round. */
export async function leasedPartitions(pool: pg.Pool, consumer: OutboxConsumer, partitions: number, logger: Logger): Promise<PartitionAssignment> {
  const balancer = new PartitionBalancer(pool, consumer, partitions, logger);
  await balancer.round();
  balancer.schedule();
  return { held: () => consumer.partitions, stop: () => balancer.stop(), close: () => balancer.close() };
}

class PartitionBalancer {
  private locks: PartitionLocks | null = null;
  private readonly held = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly pool: pg.Pool, private readonly consumer: OutboxConsumer, private readonly partitions: number, private readonly logger: Logger) {}

  schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.running = this.round().catch((error: unknown) => this.logger.warn({ err: (error as Error).message }, 'partition re-balance failed; trying again'));
      void this.running.then(() => this.schedule());
    }, PARTITION_REBALANCE_MS);
    this.timer.unref();
  }

  async round(): Promise<void> {
    const locks = await this.session();
    const live = await locks.liveWorkers();
    const share = Math.ceil(this.partitions / live);
    const before = this.report();
    for (const index of [...this.held].sort((a, b) => b - a)) {
      if (this.held.size <= share) break;
      await this.consumer.release(index);
      this.held.delete(index);
      await locks.unlock(index);
    }
    for (let index = 0; index < this.partitions && this.held.size < share && !this.closed; index += 1) {
      if (this.held.has(index) || !(await locks.tryLock(index))) continue;
      this.held.add(index);
      await this.consumer.assign(index);
    }
    if (this.report() !== before) this.logger.info({ partitions_held: [...this.held].sort((a, b) => a - b), live_workers: live, share, slot: locks.slot }, 'partitions re-balanced');
  }

  async stop(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.running;
  }

  async close(): Promise<void> {
    await this.stop();
    await this.locks?.close();
    this.locks = null;
  }

  private report(): string {
    return [...this.held].sort((a, b) => a - b).join(',');
  }

  /** The lease session, opened again (after giving up every partition) when it was lost. */
  private async session(): Promise<PartitionLocks> {
    if (this.locks !== null) return this.locks;
    const locks = await PartitionLocks.open(this.pool);
    this.locks = locks;
    void locks.lost.then(() => this.lost(locks));
    return locks;
  }

  private lost(locks: PartitionLocks): void {
    if (this.locks !== locks || this.closed) return;
    this.locks = null;
    const released = [...this.held];
    this.held.clear();
    this.logger.warn({ partitions: released }, 'partition lease session lost; consuming none until leased again');
    for (const index of released) void this.consumer.release(index);
  }
}
