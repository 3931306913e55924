// Group commit: writes that arrive in the same event-loop turn share one SQLite transaction,
// so they share one fsync (synchronous=FULL makes every commit one). Each write's promise
// settles only after its transaction commits, which is what lets the MQTT layer acknowledge
// only what is durable. `batchMax` bounds a batch; a full batch commits at once.
import { assert } from '../../shared/errors.js';
import type { Db } from '../store/open-database.js';

interface Pending<T> {
  readonly item: T;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class GroupCommit<T> {
  private batch: Pending<T>[] = [];
  private scheduled = false;

  constructor(
    private readonly db: Db,
    private readonly batchMax: number,
    /** Writes the items; runs inside the batch's BEGIN IMMEDIATE transaction. */
    private readonly write: (items: readonly T[]) => void,
    /** Called when the transaction failed: none of the items is durable. */
    private readonly onFailure: (items: readonly T[], error: unknown) => unknown,
    /** Called after a successful commit, before the writers' promises resolve. */
    private readonly onCommitted: (items: readonly T[]) => void = () => undefined,
  ) {}

  /** Queues one write; resolves once it is committed, rejects with onFailure's error otherwise. */
  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.batch.push({ item, resolve, reject });
      if (this.batch.length >= this.batchMax) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits the open batch now, synchronously (callers that must read what was queued). */
  flush(): void {
    this.scheduled = false;
    if (this.batch.length === 0) return;
    // Inside another transaction this would become a savepoint: its writers would hear
    // "committed" and then lose their writes if the outer transaction rolled back.
    assert(!this.db.inTransaction, 'group commit runs outside any other transaction');
    const pending = this.batch;
    this.batch = [];
    const items = pending.map((entry) => entry.item);
    try {
      this.db.transaction(() => this.write(items)).immediate();
    } catch (error) {
      const reason = this.onFailure(items, error);
      for (const entry of pending) entry.reject(reason);
      return;
    }
    this.onCommitted(items);
    for (const entry of pending) entry.resolve();
  }
}
