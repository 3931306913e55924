// Commit throughput and event-loop stalls of the broker's store, with the commit fsync on the
// event loop (synchronous=FULL, as before) and off it (synchronous=NORMAL, then the WAL's
// fdatasync on libuv's pool, as the broker runs now). Not a test: figures for RELIABILITY.md.
//
//   npx esbuild scripts/commit-sync-figures.ts --bundle --platform=node --format=esm --packages=external --outfile=.tmp-figures.mjs && node .tmp-figures.mjs; rm .tmp-figures.mjs
//   MODE=off strace -f -T -e trace=fsync,fdatasync -o trace.txt node .tmp-figures.mjs   # which thread waits for the disk
//
// Each mode runs COMMITS single-write units of work one after the other, then WRITERS writers at
// once (each commit still one transaction and one fsync, in the service's one write queue).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addDeviceInTransaction } from '../broker/store/sqlite/devices.js';
import { openDatabase } from '../broker/store/sqlite/open-database.js';
import { sqliteStore } from '../broker/store/sqlite/store.js';
import { WalCheckpointer } from '../broker/store/sqlite/wal-checkpointer.js';
import { openWalSync } from '../broker/store/sqlite/wal-sync.js';
import { generateKeyPair } from '../shared/keys.js';
import { WriteQueue } from '../broker/service/unit-of-work.js';

const COMMITS = Number(process.env.COMMITS ?? 2_000);
const WRITERS = 8;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function run(mode: 'fsync on the event loop' | 'fsync off the event loop'): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mqpay-figures-'));
  const db = openDatabase(dir);
  addDeviceInTransaction(db, 'dev', generateKeyPair((length) => new Uint8Array(randomBytes(length))).publicKey, Date.now());
  const off = mode === 'fsync off the event loop';
  const walSync = off ? openWalSync(db.name) : null;
  const checkpointer = off ? new WalCheckpointer(db.name, () => undefined) : null;
  const store = sqliteStore(db, { lockWaitMs: 60_000, ...(walSync === null ? {} : { syncWal: walSync.syncWal }) });
  let n = 0;
  const queue = new WriteQueue();
  const commit = () => queue.run(() => store.transaction((tx) => tx.storeAnswer('dev', `r${n++}`, 'wallet.balance', { digest: 'd', response: '{}' }, Date.now(), 1_000_000)));
  // The event loop's longest stall: the longest gap between two turns of a 1 ms ticker, as a
  // ping or a read arriving then would have waited. Between commits the loop is let go once
  // (setImmediate), as the broker's is between messages.
  let lastTickMs = performance.now();
  let stallMsMax = 0;
  const ticker = setInterval(() => {
    const nowMs = performance.now();
    stallMsMax = Math.max(stallMsMax, nowMs - lastTickMs);
    lastTickMs = nowMs;
  }, 1);
  let started = performance.now();
  for (let i = 0; i < COMMITS; i++) {
    await commit();
    await turn();
  }
  const sequentialMs = performance.now() - started;
  started = performance.now();
  await Promise.all(Array.from({ length: WRITERS }, async () => {
    for (let i = 0; i < COMMITS / WRITERS; i++) {
      await commit();
      await turn();
    }
  }));
  const concurrentMs = performance.now() - started;
  clearInterval(ticker);
  console.log(`${mode}: ${(COMMITS / (sequentialMs / 1000)).toFixed(0)} commits/s one at a time, ${(COMMITS / (concurrentMs / 1000)).toFixed(0)} commits/s from ${WRITERS} writers; longest event-loop stall ${stallMsMax.toFixed(1)} ms`);
  await checkpointer?.close();
  walSync?.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
}

// MODE=on or MODE=off runs one (to count the main thread's fsyncs under `strace -f -T`).
const modes = process.env.MODE === 'on' ? ['on'] : process.env.MODE === 'off' ? ['off'] : ['on', 'off', 'on', 'off'];
for (const mode of modes) await run(mode === 'on' ? 'fsync on the event loop' : 'fsync off the event loop');
