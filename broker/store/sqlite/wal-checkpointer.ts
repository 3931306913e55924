// Checkpoints of the broker's WAL, in a worker thread on a second connection. A checkpoint copies
// the WAL into the database file and fsyncs both; on the broker's connection it would stall the
// event loop for as long as the disk takes, so that connection has wal_autocheckpoint=0 and this
// worker runs `PRAGMA wal_checkpoint(PASSIVE)` every interval instead. PASSIVE takes no writer
// lock: the broker's writes go on meanwhile (sqlite.org/c3ref/wal_checkpoint_v2.html).
//
// The WAL's restart is done here too. When a checkpoint has copied the whole WAL, the next writer
// starts it again from the top, and in WAL mode with synchronous NORMAL or FULL that writer
// fsyncs the new WAL header (sqlite.org/pragma.html#pragma_synchronous: "the WAL file header is
// synchronized when a WAL file begins to be reused after a checkpoint"; sqlite3WalFrames). The
// header sync is what keeps a power cut from mixing frames of the old WAL with the new: it cannot
// be skipped (synchronous=OFF would). So that this writer is never the broker's event loop:
// - before the checkpoint, a second connection of the worker (`holder`) opens a read on the WAL
//   as it is. A writer restarts the WAL only when no reader holds a read mark on it (walRestartLog
//   needs every mark but 0), so while the holder reads, a broker write that begins after the
//   checkpoint appends its frames instead, with no header to write;
// - after a complete checkpoint the worker takes the write lock (BEGIN IMMEDIATE, busy timeout 0,
//   tried every millisecond on its own thread for up to WAL_RESTART_LOCK_WAIT_MS while a broker
//   write holds it), lets the holder go, and writes first: a transaction that rewrites
//   `application_id` with its own value (mqpay never sets it), the smallest write there is. Its
//   commit restarts the WAL and fsyncs the header on this thread. If a broker write appended in
//   between, the WAL is simply not restarted this time.
// Measured with strace on a child broker's main thread: no fsync there across 500 restarts
// (test/broker-event-loop-fsync.test.ts); without this write, one per restart.
//
// Meanwhile the worker holds the write lock for as long as the header's fsync takes. The broker's
// own writes meet it as they meet any other process's lock: BEGIN IMMEDIATE fails SQLITE_BUSY at
// once and is tried again with timers (`beginImmediate` in store.ts), never waiting on the event
// loop; a lock held past `storeLockWaitMs` (a stalled disk) is SERVICE_UNAVAILABLE. Synchronous
// writes beside the store on the broker's connection (enrolment at startup, tests' fixtures) use
// the connection's busy timeout, `BUSY_TIMEOUT_MS`: the store sets 0 only for its own BEGIN.
// The cost: the restart is a commit by another connection, so SQLite empties the broker
// connection's page cache, which refills from the operating system's cache (page reads on the
// event loop) once per complete checkpoint.
//
// Nothing written since the worker's last restart (`PRAGMA data_version` unchanged: it moves only
// for other connections' commits): the WAL holds only the restart's own frame, and the worker
// does nothing, so an idle broker costs no fsync per interval. While an online backup copies
// pages (`pauseWhile`), the worker does not checkpoint: its restart would start the backup over. The worker's connections commit
// with synchronous=NORMAL (its write changes nothing, so it needs no fsync of its own; checkpoints
// still sync the WAL before copying and the database after) and cut the WAL they restart back to
// WAL_BYTES_KEPT_MAX (journal_size_limit, applied by the commit that restarted it). A checkpoint
// that meets a reader still on an old snapshot does what it can and is tried again at the next
// interval.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { WAL_BYTES_KEPT_MAX, WAL_CHECKPOINT_INTERVAL_MS, WAL_RESTART_LOCK_WAIT_MS } from '../../limits.js';
import type { CheckpointStall } from './checkpoint-stall.js';

const BETTER_SQLITE3 = createRequire(import.meta.url).resolve('better-sqlite3');

// Plain CommonJS run with `eval` (as the verify worker): no build step, no file to ship.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.betterSqlite3);
const open = () => {
  const connection = new Database(workerData.path, { fileMustExist: true });
  connection.pragma('busy_timeout = 0');
  connection.pragma('synchronous = NORMAL');
  connection.pragma('wal_autocheckpoint = 0');
  connection.pragma('journal_size_limit = ' + workerData.walBytesKept);
  return connection;
};
const db = open();
// The holder: a read on the WAL being checkpointed, so no other writer restarts it (see above).
const holder = open();
const readSnapshot = holder.prepare('SELECT 1 FROM sqlite_schema LIMIT 1');
const pause = new Int32Array(new SharedArrayBuffer(4));
// Tests only: stop here, holding the write lock, as a stalled fsync would (checkpoint-stall.ts).
function stallIfHeld() {
  const cells = workerData.stallCells;
  if (cells === undefined || Atomics.load(cells, 0) === 0) return;
  parentPort.postMessage({ held: true });
  while (Atomics.load(cells, 0) === 1) Atomics.wait(cells, 0, 1);
}
// The write lock, tried every millisecond on this thread (the broker's write holding it ends soon).
function lockForRestart() {
  const startedMs = Date.now();
  for (;;) {
    try {
      db.exec('BEGIN IMMEDIATE');
      return true;
    } catch (error) {
      if (error.code !== 'SQLITE_BUSY') throw error;
    }
    if (Date.now() - startedMs >= workerData.restartLockWaitMs) return false;
    Atomics.wait(pause, 0, 0, 1);
  }
}
// The first write after a complete checkpoint, so the new WAL header's fsync is on this thread.
function restartWal() {
  const locked = lockForRestart();
  holder.exec('COMMIT');
  if (!locked) return false;
  try {
    db.pragma('application_id = ' + Number(db.pragma('application_id', { simple: true })));
    stallIfHeld();
    db.exec('COMMIT');
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
  return true;
}
// data_version as of the last restart (see the top of the file: an idle WAL is left alone).
let versionRestarted = null;
// Online backups in progress (see pauseWhile below): no checkpoint, so no restart, meanwhile.
let pauses = 0;
function checkpoint() {
  if (pauses > 0) {
    parentPort.postMessage({ ok: true, paused: true });
    return;
  }
  try {
    const version = db.pragma('data_version', { simple: true });
    if (version === versionRestarted) {
      parentPort.postMessage({ ok: true, idle: true });
      return;
    }
    holder.exec('BEGIN');
    readSnapshot.get();
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    const complete = result.busy === 0 && result.log > 0 && result.log === result.checkpointed;
    const restartWritten = complete && restartWal();
    versionRestarted = restartWritten ? version : null;
    parentPort.postMessage({ ok: true, walFrames: result.log, checkpointed: result.checkpointed, restartWritten });
  } catch (error) {
    parentPort.postMessage({ ok: false, code: error.code ?? String(error) });
  } finally {
    if (holder.inTransaction) holder.exec('COMMIT');
  }
}
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'checkpoint') checkpoint();
  if (message === 'pause') pauses += 1;
  if (message === 'resume') pauses -= 1;
  if (message === 'close') {
    clearInterval(timer);
    holder.close();
    db.close();
    parentPort.close();
  }
});`;

export interface CheckpointResult {
  readonly ok: boolean;
  /** Frames in the WAL, and how many of them are now in the database file. */
  readonly walFrames?: number;
  readonly checkpointed?: number;
  /** The checkpoint copied the whole WAL and the worker made the first write after it (the restart). */
  readonly restartWritten?: boolean;
  /** Nothing was written since the worker's last restart: no checkpoint was needed. */
  readonly idle?: boolean;
  /** An online backup was copying pages: no checkpoint until it ends. */
  readonly paused?: boolean;
  /** The SQLite error code of a checkpoint that failed (SQLITE_BUSY is normal: tried again). */
  readonly code?: string;
}

export interface WalCheckpointerOptions {
  /** Between two checkpoints (default WAL_CHECKPOINT_INTERVAL_MS; tests use shorter ones). */
  readonly intervalMs?: number;
  /** Fault injection: a disk stall inside the WAL-restart write (tests only). */
  readonly stall?: CheckpointStall;
}

export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(databasePath: string, onResult: (result: CheckpointResult) => void, options: WalCheckpointerOptions = {}) {
    const intervalMs = options.intervalMs ?? WAL_CHECKPOINT_INTERVAL_MS;
    const workerData = { path: databasePath, intervalMs, walBytesKept: WAL_BYTES_KEPT_MAX, restartLockWaitMs: WAL_RESTART_LOCK_WAIT_MS, betterSqlite3: BETTER_SQLITE3, stallCells: options.stall?.cells };
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
    this.worker.unref();
    this.worker.on('message', (message: CheckpointResult | { held: true }) => {
      if ('held' in message) options.stall?.held();
      else onResult(message);
    });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('error', (error) => onResult({ ok: false, code: error.message }));
  }

  /** A checkpoint now (tests, and the figures script), besides the periodic ones. */
  checkpointNow(): void {
    this.worker.postMessage('checkpoint');
  }

  /**
   * Runs `work` (an online backup) with checkpoints held off. The backup API starts again from
   * its first page whenever another connection commits, and the worker's WAL restart is such a
   * commit: a backup taking longer than the interval would never end. Meanwhile the WAL grows
   * by what the broker writes; the first checkpoint after catches up.
   */
  async pauseWhile<T>(work: () => Promise<T>): Promise<T> {
    this.worker.postMessage('pause');
    try {
      return await work();
    } finally {
      this.worker.postMessage('resume');
    }
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
