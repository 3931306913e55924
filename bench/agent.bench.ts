// Agent benchmarks, measured on the shipped artifacts (dist/agent.js, dist/mqpay.js) with the
// broker, the payee and the payer in three processes on loopback, as three devices would be:
//  1. bundle size of dist/agent.js (raw and gzipped);
//  2. a fresh process that loads the bundle, connects and pays once: time from process start
//     (and from createAgent) to the first accepted payment, which includes opening a channel;
//     then its RSS once idle, next to a bare `node` process measured the same way;
//  3. vouchers signed, stored (fsync) and published per second: one at a time, and in a burst;
//  4. pay-to-receipt latency (and pay-to-accepted) at a steady 1,000 payments per second;
//  5. its reference, in the same run at the same rate: the p99 of a raw MQTT QoS 1 request-reply
//     (an MQTT.js client and a tiny aedes responder in its own process) plus the p99 of one
//     durable SQLite commit (better-sqlite3, WAL, synchronous=FULL, one row). The goal is
//     pay-to-accepted p99 / that sum <= 1.5: one fsync on a payment's critical path, the broker's
//     commit (the payer reserves seqs in blocks with one fsync per SEQ_RESERVATION_BLOCK_SEQS
//     vouchers, the payee stores forwarded vouchers without one) [docs/DESIGN.md rule 5].
// Absolute figures drift between runs and machines, ratios less.
// Prints a report, then the figures as one JSON object on the last line of stdout.
// Run: npm run bench -- agent   (bench/run.mjs bundles this file into .bench-out/ and runs it)
// MQPAY_BENCH_AGENT_RATE (payments/s, default 1000) and MQPAY_BENCH_AGENT_SECONDS (default 5)
// change the steady-rate phase.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { addDevice } from '../broker/store/sqlite/devices.js';
import { fundWallet } from '../broker/store/sqlite/ledger.js';
import { openDatabase } from '../broker/store/sqlite/open-database.js';
import { parseAmount } from '../shared/amount.js';
import type * as AgentLibrary from '../agent/index.js';
import { SEQ_RESERVATION_BLOCK_SEQS } from '../agent/limits.js';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';

const LATENCY_RATE_PER_S = Number(process.env.MQPAY_BENCH_AGENT_RATE ?? 1_000);
const LATENCY_DURATION_S = Number(process.env.MQPAY_BENCH_AGENT_SECONDS ?? 5);
const SEQUENTIAL_SIGNS = 3_000;
const BURST_SIGNS = 20_000;
const IDLE_SETTLE_MS = 2_000;
const STARTUP_TIMEOUT_MS = 15_000;
const READY_POLL_MS = 20;
const OPERATOR_TOKEN = 'agent-bench-operator-token-0123456789';
const COMMIT_PROBE_COUNT = 1_000;
/** A V8 setting small devices commonly run with: a 1 MB young generation instead of up to 16 MB. */
const SMALL_DEVICE_V8_FLAG = '--max-semi-space-size=1';

const random = (length: number) => new Uint8Array(randomBytes(length));
const root = process.cwd();
const work = mkdtempSync(join(tmpdir(), 'mqpay-agent-bench-'));

/**
 * Spawns a process with its output going to a file (not a pipe: a payee logging each payment
 * into a pipe that this process must drain would tie its latency to this event loop), and
 * resolves once that output matches `ready`.
 */
async function spawnUntil(name: string, args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const logPath = join(work, `${name}.log`);
  const log = openSync(logPath, 'w');
  const child = spawn(process.execPath, args, { stdio: ['ignore', log, log] });
  closeSync(log);
  const deadline = performance.now() + STARTUP_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const match = readFileSync(logPath, 'utf8').match(ready);
    if (match !== null) return { child, match };
    if (child.exitCode !== null) break;
    await new Promise((resolvePoll) => setTimeout(resolvePoll, READY_POLL_MS));
  }
  child.kill('SIGKILL');
  throw new Error(`${name} not ready:\n${readFileSync(logPath, 'utf8')}`);
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolvePromise) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolvePromise();
    child.once('exit', () => resolvePromise());
    child.kill('SIGTERM');
  });
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

interface Bench {
  readonly lib: typeof AgentLibrary;
  readonly brokerUrl: string;
  readonly servicePublicKey: string;
  readonly brokerDir: string;
}

/** Durable (WAL, synchronous=FULL) one-row commits per second on the disk the agents use. */
function sqliteCommitsPerS(label: string): number {
  return sqliteCommitProbe(label).perS;
}

/** One-row durable commits one after another: their rate and the p99 of one commit. */
function sqliteCommitProbe(label: string): { perS: number; p99Ms: number } {
  const db = new Database(join(work, `commit-probe-${label}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (n INTEGER PRIMARY KEY, b BLOB)');
  const insert = db.prepare('INSERT INTO t (n, b) VALUES (?, ?)');
  const blob = Buffer.alloc(82);
  const latencies: number[] = [];
  const started = performance.now();
  for (let n = 0; n < COMMIT_PROBE_COUNT; n++) {
    const one = performance.now();
    db.transaction(() => insert.run(n, blob))();
    latencies.push(performance.now() - one);
  }
  const perS = Math.round(COMMIT_PROBE_COUNT / ((performance.now() - started) / 1000));
  db.close();
  return { perS, p99Ms: round(percentile(latencies.sort((a, b) => a - b), 99), 3) };
}

/** The responder: aedes answers every QoS 1 `req/{id}` with a QoS 1 `rep/{id}` of the same payload. */
const RESPONDER_SOURCE = `
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
const aedes = await Aedes.createBroker();
aedes.on('publish', (packet, client) => {
  if (client === null || !packet.topic.startsWith('req/')) return;
  aedes.publish({ cmd: 'publish', topic: 'rep/' + packet.topic.slice(4), payload: packet.payload, qos: 1, retain: false, dup: false }, () => undefined);
});
const server = createServer(aedes.handle);
server.listen(0, '127.0.0.1', () => console.log('responder port ' + server.address().port));
`;

/** Bytes of a request: about a signed voucher message. */
const REQUEST_REPLY_PAYLOAD_BYTES = 327;

/**
 * Open loop at the payments' rate: an MQTT.js client publishes QoS 1 requests to the responder
 * (its own process, like the broker) and times each until its reply arrives.
 */
async function rawRequestReplyP99Ms(): Promise<number> {
  const responderPath = join(root, '.bench-out', 'agent-responder.mjs');
  writeFileSync(responderPath, RESPONDER_SOURCE);
  const responder = await spawnUntil('responder', [responderPath], /responder port (\d+)/);
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${responder.match[1] ?? ''}`, { clientId: 'bench-requester', clean: true });
  try {
    await client.subscribeAsync('rep/#', { qos: 1 });
    const total = LATENCY_RATE_PER_S * LATENCY_DURATION_S;
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    const payload = Buffer.alloc(REQUEST_REPLY_PAYLOAD_BYTES, 0x61);
    const allAnswered = new Promise<void>((done) => {
      client.on('message', (topic) => {
        const id = topic.slice(4);
        const at = sentAt.get(id);
        if (at === undefined) return;
        latencies.push(performance.now() - at);
        sentAt.delete(id);
        if (latencies.length >= total) done();
      });
    });
    const started = performance.now();
    let sent = 0;
    await new Promise<void>((done) => {
      const tick = () => {
        const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * LATENCY_RATE_PER_S) + 1);
        for (; sent < due; sent++) {
          sentAt.set(String(sent), performance.now());
          client.publish(`req/${sent}`, payload, { qos: 1 });
        }
        if (sent >= total) done();
        else setTimeout(tick, 1);
      };
      tick();
    });
    await allAnswered;
    return round(percentile(latencies.sort((a, b) => a - b), 99), 3);
  } finally {
    await client.endAsync();
    await stop(responder.child);
  }
}

/** Pay-to-accepted p99 against its reference; the goal is <= 1.5. */
async function onePaymentReference(payToAcceptedP99Ms: number): Promise<Record<string, number>> {
  const rawMqttRequestReplyP99Ms = await rawRequestReplyP99Ms();
  const durableSqliteCommitP99Ms = sqliteCommitProbe('reference').p99Ms;
  return {
    rawMqttRequestReplyP99Ms, durableSqliteCommitP99Ms,
    payToAcceptedOverReference: round(payToAcceptedP99Ms / (rawMqttRequestReplyP99Ms + durableSqliteCommitP99Ms)),
  };
}

/** An enrolled agent home; payers get a budget so the policy check is part of every measure. */
function makeHome(bench: Bench, device: string, funds: string | null, deposit = '1'): string {
  const home = join(work, device);
  const created = bench.lib.initAgentHome({
    home, random,
    config: { v: 1, device, servicePublicKey: bench.servicePublicKey, channel: { deposit }, policy: { overall: { day: '100000' } } },
  });
  const db = openDatabase(bench.brokerDir);
  try {
    addDevice(db, device, created.keys.publicKey, Date.now());
    if (funds !== null) fundWallet(db, device, parseAmount(funds), `${device}`, Date.now());
  } finally {
    db.close();
  }
  return home;
}

const PROBE_SOURCE = `
import { performance } from 'node:perf_hooks';
const [bundle, home, brokerUrl, idleMs] = process.argv.slice(2);
const { createAgent } = await import(bundle);
const loadedMs = performance.now();
const agent = await createAgent({ home, brokerUrl });
const connectedMs = performance.now();
await agent.pay('bench-payee', '0.000001');
const paidMs = performance.now();
await new Promise((r) => setTimeout(r, Number(idleMs)));
globalThis.gc?.();
await new Promise((r) => setTimeout(r, 100));
const { rss, heapUsed } = process.memoryUsage();
console.log(JSON.stringify({ loadedMs, connectedMs, paidMs, rss, heapUsed }));
await agent.stop();
`;

const BARE_SOURCE = `setTimeout(() => { globalThis.gc?.(); setTimeout(() => console.log(JSON.stringify({ rss: process.memoryUsage().rss })), 100); }, ${IDLE_SETTLE_MS});`;

interface ProbeFigures { loadedMs: number; connectedMs: number; paidMs: number; rss: number; heapUsed: number }

/** A fresh process that loads dist/agent.js, connects, pays once and idles (with `flags` for node). */
function runProbe(bench: Bench, device: string, flags: readonly string[]): ProbeFigures {
  const home = makeHome(bench, device, '10');
  const probe = join(root, '.bench-out', 'agent-probe.mjs');
  writeFileSync(probe, PROBE_SOURCE);
  const bundle = pathToFileURL(resolve(root, 'dist', 'agent.js')).href;
  const out = execFileSync(process.execPath, ['--expose-gc', ...flags, probe, bundle, home, bench.brokerUrl, String(IDLE_SETTLE_MS)], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as ProbeFigures;
}

async function probeStartAndMemory(bench: Bench): Promise<Record<string, number>> {
  const figures = runProbe(bench, 'bench-probe', []);
  const smallYoung = runProbe(bench, 'bench-probe-small', [SMALL_DEVICE_V8_FLAG]);
  const bare = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', BARE_SOURCE], { encoding: 'utf8' }).trim()) as { rss: number };
  return {
    processStartToFirstAcceptedMs: round(figures.paidMs),
    createAgentToFirstAcceptedMs: round(figures.paidMs - figures.loadedMs),
    createAgentToConnectedMs: round(figures.connectedMs - figures.loadedMs),
    bundleLoadMs: round(figures.loadedMs),
    idleRssMb: round(figures.rss / 1_048_576, 1),
    idleHeapUsedMb: round(figures.heapUsed / 1_048_576, 1),
    idleRssSmallYoungGenerationMb: round(smallYoung.rss / 1_048_576, 1),
    bareNodeRssMb: round(bare.rss / 1_048_576, 1),
  };
}

async function signRates(payer: AgentLibrary.Agent): Promise<Record<string, number>> {
  await payer.pay('bench-payee', '0.000001');
  let started = performance.now();
  for (let i = 0; i < SEQUENTIAL_SIGNS; i++) await payer.sign('bench-payee', 1n);
  const sequentialMs = performance.now() - started;
  started = performance.now();
  const burst = await Promise.all(Array.from({ length: BURST_SIGNS }, () => payer.sign('bench-payee', 1n)));
  const burstStoredMs = performance.now() - started;
  await burst[burst.length - 1]?.accepted;
  const burstAcceptedMs = performance.now() - started;
  return {
    signStorePublishSequentialPerS: Math.round(SEQUENTIAL_SIGNS / (sequentialMs / 1000)),
    signStoreBurstPerS: Math.round(BURST_SIGNS / (burstStoredMs / 1000)),
    burstAcceptedByServicePerS: Math.round(BURST_SIGNS / (burstAcceptedMs / 1000)),
  };
}

interface Timed { readonly acceptedMs: number; readonly receiptMs: number }

/** Open loop: payments are started on schedule, whether or not earlier ones have finished. */
async function steadyLatency(payer: AgentLibrary.Agent): Promise<Record<string, number>> {
  const total = LATENCY_RATE_PER_S * LATENCY_DURATION_S;
  const results: Promise<Timed>[] = [];
  const one = async (): Promise<Timed> => {
    const startMs = performance.now();
    const signed = await payer.sign('bench-payee', 1n);
    const receipt = signed.waitForReceipt();
    await signed.accepted;
    const acceptedMs = performance.now() - startMs;
    await receipt;
    return { acceptedMs, receiptMs: performance.now() - startMs };
  };
  const started = performance.now();
  await new Promise<void>((done) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * LATENCY_RATE_PER_S) + 1);
      while (results.length < due) results.push(one());
      if (results.length >= total) done();
      else setTimeout(tick, 1);
    };
    tick();
  });
  const timed = await Promise.all(results);
  const elapsedS = (performance.now() - started) / 1000;
  const receipts = timed.map((t) => t.receiptMs).sort((a, b) => a - b);
  const accepted = timed.map((t) => t.acceptedMs).sort((a, b) => a - b);
  return {
    steadyRatePerS: Math.round(total / elapsedS),
    payToReceiptP50Ms: round(percentile(receipts, 50)),
    payToReceiptP99Ms: round(percentile(receipts, 99)),
    payToReceiptMaxMs: round(receipts[receipts.length - 1] ?? Number.NaN),
    payToAcceptedP50Ms: round(percentile(accepted, 50)),
    payToAcceptedP99Ms: round(percentile(accepted, 99)),
  };
}

async function main(): Promise<void> {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  const bundle = readFileSync('dist/agent.js');
  const size = { bundleKb: round(bundle.length / 1024, 1), bundleGzipKb: round(gzipSync(bundle).length / 1024, 1) };
  const lib = (await import(pathToFileURL(resolve(root, 'dist', 'agent.js')).href)) as typeof AgentLibrary;
  const disk = { sqliteCommitsPerS: sqliteCommitsPerS('before') };
  const brokerDir = join(work, 'broker');
  const broker = await spawnUntil('broker', ['dist/mqpay.js', 'broker', '--data', brokerDir, '--mqtt-port', '0', '--log-level', 'warn', '--operator-token', OPERATOR_TOKEN], /listening: (mqtt:\/\/\S+)\s+service public key: ([0-9a-f]{64})/);
  const bench: Bench = { lib, brokerUrl: broker.match[1] ?? '', servicePublicKey: broker.match[2] ?? '', brokerDir };
  const payeeHome = makeHome(bench, 'bench-payee', null);
  const payee = await spawnUntil('payee', ['dist/mqpay.js', 'agent', 'run', '--home', payeeHome, '--broker', bench.brokerUrl, '--log-level', 'info'], /"msg":"connected"/);
  let payer: AgentLibrary.Agent | null = null;
  try {
    const start = await probeStartAndMemory(bench);
    payer = await lib.createAgent({ home: makeHome(bench, 'bench-payer', '1000', '500'), brokerUrl: bench.brokerUrl });
    const rates = await signRates(payer);
    const latency = await steadyLatency(payer);
    const reference = await onePaymentReference(latency.payToAcceptedP99Ms ?? Number.NaN);
    report({ ...size, ...start, ...rates, ...latency, ...reference, ...disk, sqliteCommitsAfterPerS: sqliteCommitsPerS('after'), bundleSizeBytes: statSync('dist/agent.js').size });
  } finally {
    await payer?.stop();
    await stop(payee.child);
    await stop(broker.child);
    rmSync(work, { recursive: true, force: true });
  }
}

function report(figures: Record<string, number>): void {
  const lines = [
    `bundle dist/agent.js: ${figures.bundleKb} KB (${figures.bundleGzipKb} KB gzipped)   target < 300 KB`,
    `idle RSS of a connected agent: ${figures.idleRssMb} MB (heap used ${figures.idleHeapUsedMb} MB; bare node: ${figures.bareNodeRssMb} MB; with ${SMALL_DEVICE_V8_FLAG}: ${figures.idleRssSmallYoungGenerationMb} MB)   target < 60 MB`,
    `start to first accepted payment: ${figures.processStartToFirstAcceptedMs} ms from process start, ${figures.createAgentToFirstAcceptedMs} ms from createAgent (connect ${figures.createAgentToConnectedMs} ms, bundle load ${figures.bundleLoadMs} ms; includes channel.open)   target < 500 ms`,
    `vouchers signed, stored (one fsync per ${SEQ_RESERVATION_BLOCK_SEQS}, the seq reservation) and published: ${figures.signStorePublishSequentialPerS}/s one at a time; ${figures.signStoreBurstPerS}/s in a burst of ${BURST_SIGNS} (group commit; the service accepted the burst at ${figures.burstAcceptedByServicePerS}/s)`,
    `disk: ${figures.sqliteCommitsPerS} durable SQLite commits/s before the run, ${figures.sqliteCommitsAfterPerS}/s after (each payment waits for 1, the broker's)`,
    `at ${figures.steadyRatePerS} payments/s: pay-to-receipt p50 ${figures.payToReceiptP50Ms} ms, p99 ${figures.payToReceiptP99Ms} ms, max ${figures.payToReceiptMaxMs} ms; pay-to-accepted p50 ${figures.payToAcceptedP50Ms} ms, p99 ${figures.payToAcceptedP99Ms} ms   target p99 < 10 ms`,
    `pay-to-accepted p99 / (raw MQTT QoS 1 request-reply p99 ${figures.rawMqttRequestReplyP99Ms} ms + one durable SQLite commit p99 ${figures.durableSqliteCommitP99Ms} ms) = ${figures.payToAcceptedOverReference}   goal <= 1.5`,
  ];
  for (const line of lines) console.log(line);
  console.log(JSON.stringify({ bench: 'agent', ...figures }));
}

await main();
