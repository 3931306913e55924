// Group commit, shared by the broker (vouchers, receipts) and the agent (signed and received
// vouchers, bookkeeping) [docs/DESIGN.md "Group commit"]. Writes queued in one event-loop turn
// share one transaction, so they share one fsync (synchronous=FULL makes every commit one). Each
// write runs in its own savepoint: one that throws is rolled back alone and only its caller hears
// of it; the others commit. A write's promise settles only after its transaction commits, and the
// after-commit steps it registered run only then, never for a write that was rolled back: that is
// what lets the broker acknowledge and the agent publish only what is durable [docs/DESIGN.md rule
// 5].
//
// The queue does not know the database: a runner executes one batch. `sqliteBatch` is the
// runner over a better-sqlite3 connection (synchronous, so a flush completes before it returns);
// the broker passes its store port's `batch`, which may be asynchronous.
import type Database from 'better-sqlite3';

/** What one write of a batch came to: its value, or the error that rolled it back alone. */
export type WriteOutcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/** Runs writes in one transaction, a savepoint each; throws only when the commit itself fails. */
export type BatchRunner<Tx> = (writes: readonly ((tx: Tx) => unknown)[], durable: boolean) => readonly WriteOutcome[] | Promise<readonly WriteOutcome[]>;

/** Registers a step to run once the write's transaction has committed. */
export type AfterCommit = (step: () => void) => void;
export type GroupWrite<Tx, T> = (tx: Tx, afterCommit: AfterCommit) => T | Promise<T>;

export interface WriteOptions {
  /** false: bookkeeping that a crash may lose (it is redone by a re-send). Default true. */
  readonly durable?: boolean;
}

export interface GroupCommitOptions {
  /** Most writes in one transaction; a longer queue is split over several commits. */
  readonly entriesMax: number;
  /** An after-commit step threw: the write is durable all the same, so this only reports it. */
  readonly onStepError: (error: unknown) => void;
}

interface Queued<Tx> {
  readonly write: GroupWrite<Tx, unknown>;
  readonly durable: boolean;
  readonly steps: (() => void)[];
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

export class GroupCommit<Tx> {
  private queue: Queued<Tx>[] = [];
  private scheduled = false;
  private closed = false;
  /** The steps of the write running right now, for `afterCommit` called from its body. */
  private collecting: (() => void)[] | null = null;
  /** The batch being committed; a flush waits for it, so commits never overlap. */
  private committing: Promise<void> | null = null;
  /** While set, writes are refused with this error instead of queuing (the disk has stalled). */
  private refusal: { readonly error: unknown } | null = null;

  constructor(private readonly runner: BatchRunner<Tx>, private readonly options: GroupCommitOptions) {
    if (!Number.isInteger(options.entriesMax) || options.entriesMax < 1) throw new RangeError('entriesMax must be a positive integer');
  }

  /** Queues `write` for the next batch; resolves with its value once that batch commits. */
  run<T>(write: GroupWrite<Tx, T>, options: WriteOptions = {}): Promise<T> {
    if (this.closed) return Promise.reject(new Error('group commit is closed'));
    if (this.refusal !== null) return Promise.reject(this.refusal.error);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, durable: options.durable ?? true, steps: [], resolve: resolve as (value: unknown) => void, reject });
      if (this.queue.length >= this.options.entriesMax) void this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** From the synchronous body of a write: run `step` after its transaction has committed. */
  afterCommit(step: () => void): void {
    if (this.collecting === null) throw new Error('afterCommit outside a batched write');
    this.collecting.push(step);
  }

  /**
   * From now on, until `accept()`, refuses new writes with `error`, and withdraws those queued
   * with it (the batch being committed, if any, goes on to its end).
   */
  refuse(error: unknown): void {
    this.refusal = { error };
    for (const entry of this.queue.splice(0)) entry.reject(error);
  }

  /** Takes writes again after `refuse`. */
  accept(): void {
    this.refusal = null;
  }

  /** Writes queued and not yet committed. */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Commits everything queued, now. With a synchronous runner the commit is done when this
   * returns; the promise settles once every batch queued before the call has committed.
   */
  flush(): Promise<void> {
    this.scheduled = false;
    const previous = this.committing;
    if (previous !== null) {
      const after = previous.then(() => this.flush());
      return after;
    }
    if (this.queue.length === 0) return Promise.resolve();
    const batch = this.queue.splice(0, this.options.entriesMax);
    const done = this.commit(batch);
    if (done === null) return this.flush();
    this.committing = done.finally(() => {
      this.committing = null;
    });
    return this.committing.then(() => this.flush());
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  /** Returns null when the runner finished synchronously (everything already settled). */
  private commit(batch: readonly Queued<Tx>[]): Promise<void> | null {
    const durable = batch.some((entry) => entry.durable);
    const writes = batch.map((entry) => (tx: Tx) => this.runOne(entry, tx));
    let result: readonly WriteOutcome[] | Promise<readonly WriteOutcome[]>;
    try {
      result = this.runner(writes, durable);
    } catch (error) {
      this.failed(batch, error);
      return null;
    }
    if (!(result instanceof Promise)) {
      this.settle(batch, result);
      return null;
    }
    return result.then((outcomes) => this.settle(batch, outcomes), (error: unknown) => this.failed(batch, error));
  }

  private runOne(entry: Queued<Tx>, tx: Tx): unknown {
    // A store may run a batch again after the database aborted it (PostgreSQL's serialization
    // failures and deadlocks): only the steps of the write's last run count.
    entry.steps.length = 0;
    const addStep: AfterCommit = (step) => entry.steps.push(step);
    this.collecting = entry.steps;
    try {
      return entry.write(tx, addStep);
    } finally {
      this.collecting = null;
    }
  }

  /** The commit itself failed (disk full, I/O error): nothing of this batch is durable. */
  private failed(batch: readonly Queued<Tx>[], error: unknown): void {
    for (const entry of batch) entry.reject(error);
  }

  private settle(batch: readonly Queued<Tx>[], outcomes: readonly WriteOutcome[]): void {
    if (outcomes.length !== batch.length) throw new Error('assertion failed: one outcome per write');
    batch.forEach((entry, index) => {
      const outcome = outcomes[index] as WriteOutcome;
      if (!outcome.ok) {
        entry.reject(outcome.error);
        return;
      }
      for (const step of entry.steps) {
        try {
          step();
        } catch (error) {
          this.options.onStepError(error);
        }
      }
      entry.resolve(outcome.value);
    });
  }
}

/**
 * The runner over one better-sqlite3 connection: BEGIN IMMEDIATE, a savepoint per write, COMMIT.
 * A batch of only non-durable writes commits with synchronous=NORMAL (no fsync; WAL keeps the
 * file consistent), so an fsync is spent only where the protocol needs one; the next durable
 * commit's fsync covers them too.
 */
export function sqliteBatch(db: Database.Database, afterDurableCommit?: () => void): BatchRunner<Database.Database> {
  return (writes, durable) => {
    if (db.inTransaction) throw new Error('assertion failed: a group commit runs outside any other transaction');
    if (!durable) db.pragma('synchronous = NORMAL');
    try {
      const outcomes = db.transaction(() => writes.map((write): WriteOutcome => {
        try {
          // A nested transaction function is a savepoint: a throw rolls back this write alone.
          return { ok: true, value: db.transaction(() => write(db))() };
        } catch (error) {
          return { ok: false, error };
        }
      })).immediate();
      // A power-cut test's hook: told of each durable commit before anything else runs.
      if (durable) afterDurableCommit?.();
      return outcomes;
    } finally {
      if (!durable) db.pragma('synchronous = FULL');
    }
  };
}
