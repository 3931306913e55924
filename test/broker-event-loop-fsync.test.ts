// The broker's event loop never waits for an fsync in steady state: not for a commit (the WAL's
// fdatasync runs on libuv's pool, wal-sync.ts), not for a checkpoint (a worker thread), and not
// for the WAL header written when the WAL starts again after a complete checkpoint (the worker
// makes that first write itself, wal-checkpointer.ts). Proven from outside: a broker runs as a
// child process with a checkpoint every CHECKPOINT_INTERVAL_MS, and strace, attached to its main
// thread alone (without -f, `strace -p PID` traces the thread whose tid is PID: the event loop),
// counts its fsync and fdatasync calls while payments go through it across several complete
// checkpoints. The WAL header's checkpoint counter (bytes 12-15, sqlite.org/fileformat2.html#walformat)
// counts the WAL's restarts. The same trace counts the main thread's pwrite64 calls (SQLite
// writing the commits' frames) so that a tracer that saw nothing cannot pass for a quiet loop,
// and its pread64 calls (page reads that missed SQLite's cache), printed for RELIABILITY.md.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceLink } from '../agent/link/link.js';
import { addDevice } from '../broker/store/sqlite/devices.js';
import { fundWallet } from '../broker/store/sqlite/ledger.js';
import { DATABASE_FILE, openDatabase } from '../broker/store/sqlite/open-database.js';
import { amountOf, parseAmount } from '../shared/amount.js';
import { generateKeyPair } from '../shared/keys.js';
import { buildTestChild, runAgentChild, type ChildRun } from './helpers/agent-child-build.js';
import { openChannel, payVoucher, random, signedVoucher, tempDir } from './helpers/broker-fixture.js';

const CHECKPOINT_INTERVAL_MS = 40;
/** WAL restarts (complete checkpoints followed by a new write) the traced window must span. */
const RESTARTS_MIN = 5;
const PAYMENTS_MIN = 200;
const PAYMENTS_MAX = 5_000;
const STEP = 1_000n;
/** Channels paid at once in each round. */
const CHANNELS = 4;
const hasStrace = spawnSync('strace', ['-V']).status === 0;

/** The WAL header's checkpoint sequence number: SQLite adds one each time the WAL starts again. */
function walRestarts(walPath: string): number {
  const fd = openSync(walPath, 'r');
  try {
    const header = Buffer.alloc(16);
    expect(readSync(fd, header, 0, 16, 0)).toBe(16);
    return header.readUInt32BE(12);
  } finally {
    closeSync(fd);
  }
}

/** strace on one thread; resolves once it has attached (it says so on stderr). */
function traceThread(tid: number, outFile: string): Promise<ChildProcess> {
  const tracer = spawn('strace', ['-p', String(tid), '-e', 'trace=fsync,fdatasync,pwrite64,pread64', '-o', outFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let stderr = '';
    tracer.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('attached')) resolve(tracer);
    });
    tracer.once('exit', (code) => reject(new Error(`strace exited ${code}: ${stderr}`)));
  });
}

function stopTracer(tracer: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (tracer.exitCode !== null) return resolve();
    tracer.once('exit', () => resolve());
    tracer.kill('SIGINT'); // strace detaches and flushes its output
  });
}

const dir = tempDir('mqpay-loop-fsync-');
let child: ChildRun | null = null;
let tracer: ChildProcess | null = null;
let link: DeviceLink | null = null;
afterEach(async () => {
  await link?.close().catch(() => undefined);
  if (tracer !== null) await stopTracer(tracer);
  child?.child.kill('SIGKILL');
  if (child !== null) await child.exited;
  dir.remove();
});

describe('the event loop and the disk', () => {
  it.skipIf(!hasStrace)('makes no fsync on the event loop\'s thread while payments cross several complete checkpoints', async () => {
    const payer = generateKeyPair(random);
    const setup = openDatabase(dir.path);
    addDevice(setup, 'meter-1', payer.publicKey, Date.now());
    addDevice(setup, 'shop-1', generateKeyPair(random).publicKey, Date.now());
    fundWallet(setup, 'meter-1', parseAmount('1000'), 'meter-1:funds', Date.now());
    setup.close();

    child = runAgentChild(await buildTestChild('checkpoint-broker-child'), [dir.path, String(CHECKPOINT_INTERVAL_MS)]);
    const port = Number((await child.waitFor(/^listening \d+$/)).split(' ')[1]);
    link = await DeviceLink.connect({ url: `mqtt://127.0.0.1:${port}`, device: 'meter-1', secretKey: payer.secretKey, brokerId: 'mqpay', clock: { nowMs: () => Date.now() }, random, requestTimeoutMs: 10_000 });
    const channels: Uint8Array[] = [];
    for (let i = 0; i < CHANNELS; i++) channels.push(await openChannel(link, 'shop-1', '100'));
    let seq = 0n;
    // One voucher on every channel at once: they meet in the broker's group commits.
    const pay = async () => {
      seq += 1n;
      const total = amountOf(seq * STEP);
      const verdicts = await Promise.all(channels.map((channelId) => payVoucher(link as DeviceLink, signedVoucher(payer, { channelId, seq, total }))));
      for (const verdict of verdicts) expect(verdict).toMatchObject({ type: 'voucher.accepted' });
    };
    await pay(); // the first writes of a fresh file are behind us: steady state from here

    const walPath = join(dir.path, `${DATABASE_FILE}-wal`);
    const traceFile = join(dir.path, 'main-thread.trace');
    tracer = await traceThread(child.child.pid as number, traceFile);
    const restartsBefore = walRestarts(walPath);
    let payments = 0;
    while (payments < PAYMENTS_MIN || walRestarts(walPath) - restartsBefore < RESTARTS_MIN) {
      expect(payments).toBeLessThan(PAYMENTS_MAX);
      await pay();
      payments += CHANNELS;
    }
    const restarts = walRestarts(walPath) - restartsBefore;
    await stopTracer(tracer);
    tracer = null;

    const calls = readFileSync(traceFile, 'utf8').split('\n').filter((line) => /^\w+\(/.test(line));
    const syncs = calls.filter((line) => /^f(data)?sync\(/.test(line));
    const frameWrites = calls.filter((line) => line.startsWith('pwrite64('));
    // Page reads that missed SQLite's cache (figures only: each WAL restart by the worker is a
    // commit by another connection, after which SQLite drops the broker connection's page cache).
    const pageReads = calls.filter((line) => line.startsWith('pread64('));
    console.log(`${payments} payments, ${restarts} WAL restarts: ${syncs.length} fsyncs, ${frameWrites.length} pwrite64 and ${pageReads.length} pread64 calls on the event loop's thread`);
    expect(restarts).toBeGreaterThanOrEqual(RESTARTS_MIN);
    expect(frameWrites.length).toBeGreaterThanOrEqual(payments / CHANNELS); // at least a commit a round
    expect(syncs).toEqual([]);
  }, 120_000);
});
