// A test's fault injection on the broker's store (startBroker's `store` option).
import type { Store } from '../../broker/store/port.js';

/**
 * The real SQLite store, with its group commits held until released: fault injection of a slow
 * disk. Units of work queue behind a held batch exactly as they would behind a slow fsync.
 */
export class HeldCommits {
  private gate: Promise<void> | null = null;
  private open: () => void = () => undefined;
  waitingWrites = 0;

  hold(): void {
    this.gate = new Promise((resolve) => {
      this.open = resolve;
    });
  }

  release(): void {
    this.gate = null;
    this.open();
  }

  wrap(store: Store): Store {
    return {
      ...store,
      batch: async (writes) => {
        const gate = this.gate;
        if (gate !== null) {
          this.waitingWrites += writes.length;
          await gate;
          this.waitingWrites -= writes.length;
        }
        return store.batch(writes);
      },
    };
  }
}
