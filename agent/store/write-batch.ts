// Group commit for the agent's writes. Every write that must be durable before something is
// published (a signed voucher, a received voucher with its receipt) is queued here; all writes
// queued in one event-loop turn share one transaction, so one fsync covers a burst of payments.
// Each write runs in its own savepoint: one that throws is rolled back alone and its caller
// gets the error, the others commit. `afterCommit` callbacks registered by a write run only
// once its transaction is durable, and never for a write that was rolled back: that is where
// publishing happens [DESIGN rule 5].
//
// Bookkeeping writes (an "accepted" noted, a receipt marked sent) are queued as not durable:
// losing one in a power cut costs a re-send, never money. A batch of only such writes commits
// with synchronous=NORMAL (no fsync; WAL keeps the file consistent), so an fsync is spent only
// where the protocol needs one; the next durable commit's fsync covers them too.
import type { StateDb } from './open-state.js';

/** Most writes in one transaction; a longer queue is split over several commits. */
export const WRITE_BATCH_ENTRIES_MAX = 512;

export interface WriteOptions {
  /** false: bookkeeping that a crash may lose (it is redone by a re-send). Default true. */
  readonly durable?: boolean;
}

interface QueuedWrite {
  readonly run: () => unknown;
  readonly durable: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

interface Outcome {
  readonly ok: boolean;
  readonly value: unknown;
  readonly callbacks: readonly (() => void)[];
}

export class WriteBatch {
  private queue: QueuedWrite[] = [];
  private scheduled = false;
  private closed = false;
  private collecting: (() => void)[] | null = null;

  constructor(private readonly db: StateDb, private readonly onCallbackError: (error: unknown) => void) {}

  /** Runs `write` inside the next batch transaction; resolves once that transaction commits. */
  run<T>(write: () => T, options: WriteOptions = {}): Promise<T> {
    if (this.closed) return Promise.reject(new Error('agent store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run: write, durable: options.durable ?? true, resolve: resolve as (value: unknown) => void, reject });
      if (this.queue.length >= WRITE_BATCH_ENTRIES_MAX) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** From inside a write: run `callback` after the write's transaction has committed. */
  afterCommit(callback: () => void): void {
    if (this.collecting === null) throw new Error('afterCommit outside a batched write');
    this.collecting.push(callback);
  }

  /** Commits everything queued, now. */
  flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0) this.commit(this.queue.splice(0, WRITE_BATCH_ENTRIES_MAX));
  }

  private runOne(item: QueuedWrite): Outcome {
    const callbacks: (() => void)[] = [];
    this.collecting = callbacks;
    try {
      return { ok: true, value: this.db.transaction(item.run)(), callbacks };
    } catch (error) {
      return { ok: false, value: error, callbacks: [] };
    } finally {
      this.collecting = null;
    }
  }

  private commit(items: readonly QueuedWrite[]): void {
    let outcomes: Outcome[];
    const durable = items.some((item) => item.durable);
    try {
      if (!durable) this.db.pragma('synchronous = NORMAL');
      outcomes = this.db.transaction(() => items.map((item) => this.runOne(item))).immediate();
    } catch (error) {
      // The commit itself failed (disk full, I/O error): nothing of this batch is durable.
      for (const item of items) item.reject(error);
      return;
    } finally {
      if (!durable) this.db.pragma('synchronous = FULL');
    }
    for (const outcome of outcomes) {
      for (const callback of outcome.callbacks) {
        try {
          callback();
        } catch (error) {
          this.onCallbackError(error);
        }
      }
    }
    items.forEach((item, index) => {
      const outcome = outcomes[index];
      if (outcome?.ok === true) item.resolve(outcome.value);
      else item.reject(outcome?.value);
    });
  }

  close(): void {
    this.flush();
    this.closed = true;
  }
}
