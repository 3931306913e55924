// A stalled disk under the checkpoint worker, for fault-injection tests: while `hold()` is on,
// the worker stops inside its WAL-restart write (holding the write lock, where a slow disk would
// keep it in the WAL header's fsync) until `release()`. It blocks the worker's own thread only
// (Atomics.wait on shared memory), as a real stalled fsync would.

/** Cell 0: 1 while the worker must stop, 0 to let it go. */
export type StallCells = Int32Array;

export class CheckpointStall {
  readonly cells: StallCells = new Int32Array(new SharedArrayBuffer(4));
  private onHeld: (() => void) | null = null;

  /** From now on the worker stops in its next WAL-restart write; resolves once it has stopped there. */
  hold(): Promise<void> {
    Atomics.store(this.cells, 0, 1);
    return new Promise((resolve) => (this.onHeld = resolve));
  }

  release(): void {
    Atomics.store(this.cells, 0, 0);
    Atomics.notify(this.cells, 0);
  }

  /** Called by the checkpointer when the worker reports it has stopped. */
  held(): void {
    this.onHeld?.();
    this.onHeld = null;
  }
}
