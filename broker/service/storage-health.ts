// Whether the ledger's disk is keeping up, as the service sees it: the store raises the storage
// alarm when a commit's fsync has waited past its bound (telemetry `storage.sync-stall`), and
// clears it when that fsync returns. While it is raised, writes that have not started are refused
// SERVICE_UNAVAILABLE (retryable) instead of queuing behind the disk; reads, pings and refusals
// never come here [docs/DESIGN.md rule 15]. A write that has started runs to its end: it may
// already be in the WAL, and is answered once it is durable.
import { MqpayError } from '../../shared/errors.js';
import type { Telemetry } from './telemetry.js';

export function storageStalledError(): MqpayError {
  return new MqpayError('SERVICE_UNAVAILABLE', 'the ledger\'s disk is not keeping up; try again');
}

export class StorageHealth {
  private stalledNow = false;
  private readonly listeners = new Set<(stalled: boolean) => void>();
  private readonly unsubscribe: () => void;

  constructor(telemetry: Telemetry) {
    this.unsubscribe = telemetry.on((event) => {
      if (event.kind !== 'storage.sync-stall') return;
      this.stalledNow = event.state === 'stalled';
      for (const listener of [...this.listeners]) listener(this.stalledNow);
    });
  }

  get stalled(): boolean {
    return this.stalledNow;
  }

  /** Called with the new state at every change; returns the unsubscribe. */
  onChange(listener: (stalled: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Rejects SERVICE_UNAVAILABLE if the alarm is raised now or before `wait` settles. */
  unlessStalled<T>(wait: Promise<T>): Promise<T> {
    return this.whileWaiting((started) => wait.then((value) => {
      started();
      return value;
    }));
  }

  /**
   * Runs a write queued by `enqueue`, unless the alarm is raised before its turn comes: then it
   * is refused SERVICE_UNAVAILABLE and never runs. Once `started` is called it is not withdrawn.
   */
  whileWaiting<T>(enqueue: (started: () => void) => Promise<T>): Promise<T> {
    if (this.stalledNow) return Promise.reject(storageStalledError());
    return new Promise<T>((resolve, reject) => {
      let state: 'waiting' | 'started' | 'withdrawn' = 'waiting';
      const off = this.onChange((stalled) => {
        if (!stalled || state !== 'waiting') return;
        state = 'withdrawn';
        reject(storageStalledError());
      });
      const started = (): void => {
        if (state === 'withdrawn') throw storageStalledError();
        state = 'started';
      };
      enqueue(started).then((value) => {
        off();
        resolve(value);
      }, (error: unknown) => {
        off();
        reject(error);
      });
    });
  }

  close(): void {
    this.unsubscribe();
    this.listeners.clear();
  }
}
