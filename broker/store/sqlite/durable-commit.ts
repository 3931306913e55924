// Waits for a commit to be durable (the WAL fsync, off the event loop) before the store returns,
// so nothing is acknowledged that a power cut could take back [docs/DESIGN.md rule 5]. A wait
// longer than the store's bound raises the storage alarm (the service then refuses new writes
// SERVICE_UNAVAILABLE); its end clears it. The commit that is waiting is not abandoned: it is
// already in the WAL, so it is answered, late, once the disk has it.
import { MqpayError } from '../../../shared/errors.js';
import type { SyncWal } from './wal-sync.js';

/** A durability wait passed its bound (`stalled`), or one that had ended (`recovered`). */
export interface SyncStall {
  readonly state: 'stalled' | 'recovered';
  readonly waitedMs: number;
}

export interface DurableCommitOptions {
  readonly syncWal: SyncWal;
  /** How long a commit may wait for the disk before the alarm is raised. */
  readonly stallMs: number;
  readonly onSyncStall?: (stall: SyncStall) => void;
}

export async function awaitDurable(options: DurableCommitOptions): Promise<void> {
  const startedMs = Date.now();
  let stalled = false;
  const alarm = setTimeout(() => {
    stalled = true;
    options.onSyncStall?.({ state: 'stalled', waitedMs: Date.now() - startedMs });
  }, options.stallMs);
  try {
    await options.syncWal();
  } catch (error) {
    // The fsync failed: the kernel may have dropped the pages, so the commit may not survive a
    // power cut. It is not acknowledged; devices retry and their writes are idempotent.
    throw new MqpayError('SERVICE_UNAVAILABLE', `the ledger's disk failed a sync (${(error as { code?: string }).code ?? 'error'})`);
  } finally {
    clearTimeout(alarm);
    if (stalled) options.onSyncStall?.({ state: 'recovered', waitedMs: Date.now() - startedMs });
  }
}
