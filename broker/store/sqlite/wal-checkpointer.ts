// Checkpoints of the broker's WAL, in a worker thread on a second connection. A checkpoint copies
// the WAL into the database file and fsyncs both; on the broker's connection it would stall the
// event loop for as long as the disk takes, so that connection has wal_autocheckpoint=0 and this
// worker runs `PRAGMA wal_checkpoint(PASSIVE)` every interval instead. PASSIVE takes no writer
// lock: the broker's writes go on meanwhile (sqlite.org/c3ref/wal_checkpoint_v2.html).
//
// What is left on the event loop: when a checkpoint has copied the whole WAL, the next writer
// starts it again from the top, and in WAL mode with synchronous NORMAL or FULL that writer
// fsyncs the new WAL header (sqlite.org/pragma.html#pragma_synchronous: "the WAL file header is
// synchronized when a WAL file begins to be reused after a checkpoint"). That writer is the
// broker's: one fsync on the event loop per complete checkpoint, so at most one per interval,
// never one per commit. (Having the worker write first would move it here, but its write lock
// would then make the broker's own synchronous writes outside the store, as tests' fixtures
// make, fail SQLITE_BUSY under busy_timeout 0.) The header sync is what keeps a power cut from
// mixing frames of the old WAL with the new: it cannot be skipped (synchronous=OFF would).
//
// The worker's connection has busy_timeout 0: a checkpoint that meets a reader still on an old
// snapshot does what it can and is tried again at the next interval.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { WAL_CHECKPOINT_INTERVAL_MS } from '../../limits.js';

const BETTER_SQLITE3 = createRequire(import.meta.url).resolve('better-sqlite3');

// Plain CommonJS run with `eval` (as the verify worker): no build step, no file to ship.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.betterSqlite3);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 0');
db.pragma('synchronous = FULL');
db.pragma('wal_autocheckpoint = 0');
function checkpoint() {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, walFrames: result.log, checkpointed: result.checkpointed });
  } catch (error) {
    parentPort.postMessage({ ok: false, code: error.code ?? String(error) });
  }
}
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'checkpoint') checkpoint();
  if (message === 'close') {
    clearInterval(timer);
    db.close();
    parentPort.close();
  }
});`;

export interface CheckpointResult {
  readonly ok: boolean;
  /** Frames in the WAL, and how many of them are now in the database file. */
  readonly walFrames?: number;
  readonly checkpointed?: number;
  /** The SQLite error code of a checkpoint that failed (SQLITE_BUSY is normal: tried again). */
  readonly code?: string;
}

export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(databasePath: string, onResult: (result: CheckpointResult) => void) {
    const workerData = { path: databasePath, intervalMs: WAL_CHECKPOINT_INTERVAL_MS, betterSqlite3: BETTER_SQLITE3 };
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
    this.worker.unref();
    this.worker.on('message', onResult);
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('error', (error) => onResult({ ok: false, code: error.message }));
  }

  /** A checkpoint now (tests, and the figures script), besides the periodic ones. */
  checkpointNow(): void {
    this.worker.postMessage('checkpoint');
  }

  /** Stops the timer and closes the worker's connection; resolves when the thread has ended. */
  async close(): Promise<void> {
    // Unreferenced, the thread would not keep the process alive until it has ended: a process
    // with nothing else left would exit (code 0) with this promise still pending.
    this.worker.ref();
    this.worker.postMessage('close');
    await this.exited;
  }
}
