// What the broker benches share: the load generator (a child process, so this process's CPU
// time is the broker's alone), the raw aedes relay each mqpay figure is compared to (measured in
// the same run), and an mqpay broker with enrolled payer/payee pairs.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { pino } from 'pino';
import { createBrokerApp, type BrokerApp } from '../broker/app.js';
import { signConnectPassword } from '../shared/connect-token.js';
import { sign } from '../shared/crypto.js';
import { generateKeyPair, type KeyPair } from '../shared/keys.js';
import { parseAmount } from '../shared/amount.js';
import { addDevice } from '../broker/store/sqlite/devices.js';
import { fundWallet } from '../broker/store/sqlite/ledger.js';
import { threadCpu, threadSplit, type ThreadSplit } from './thread-cpu.js';

/** `threads`: the broker's CPU by thread (bench/thread-cpu.ts), null where it cannot be read. */
export interface LoadResult { received: number; tallied: number; elapsedMs: number; brokerCpuUs: number; loadCpuUs: number; threads: ThreadSplit | null }

/** Called when the load generator starts publishing and when it has every reply (the cluster bench reads its processes' CPU). */
export interface LoadWindow { started(): void; ended(): void }

/** Runs a load job in a child process; the broker's CPU is this process's over the load window. */
export function runLoad(job: object, window?: LoadWindow): Promise<LoadResult> {
  const child = fork(new URL('./mqtt-load-worker.mjs', import.meta.url), [], { serialization: 'advanced' });
  let startedCpu = process.cpuUsage();
  let startedThreads = threadCpu();
  return new Promise((resolve, reject) => {
    child.on('message', (message: { type: string; received: number; tallied: number; elapsedMs: number; cpuUs: number }) => {
      if (message.type === 'ready') {
        startedCpu = process.cpuUsage();
        startedThreads = threadCpu();
        window?.started();
        child.send('go');
        return;
      }
      const cpu = process.cpuUsage(startedCpu);
      const threads = threadSplit(startedThreads, threadCpu());
      window?.ended();
      resolve({ received: message.received, tallied: message.tallied, elapsedMs: message.elapsedMs, brokerCpuUs: cpu.user + cpu.system, loadCpuUs: message.cpuUs, threads });
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited with ${code}`));
    });
    child.send(job);
  });
}

/** The shape of a raw relay: each message published at `publishQos`, relayed to `copies` subscribers at QoS 0. */
export interface RelayShape { readonly payers: number; readonly publishQos: 0 | 1; readonly copies: 1 | 2 }

/** A raw aedes relay of `total` payloads of `payloadSize` bytes: its rate and the broker's CPU per message. */
export async function rawRelay(payloadSize: number, total: number, shape: RelayShape): Promise<{ rate: number; cpuUsPerMessage: number; mainCpuUsPerMessage: number | null }> {
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const payload = 'x'.repeat(payloadSize);
  const per = total / shape.payers;
  const publishers = Array.from({ length: shape.payers }, (_, i) => [
    { clientId: `raw-payer-${i}`, topic: `bench/relay/${i}`, replyTopic: `bench/relay/${i}`, replyQos: 0, qos: shape.publishQos, payloads: Array.from({ length: per }, () => payload) },
    ...(shape.copies === 2 ? [{ clientId: `raw-payee-${i}`, topic: '', replyTopic: `bench/relay/${i}`, replyQos: 0, payloads: [] }] : []),
  ]).flat();
  const result = await runLoad({ url: `mqtt://127.0.0.1:${port}`, publishers, expectReplies: total * shape.copies });
  server.close();
  await new Promise<void>((resolve) => aedes.close(() => resolve()));
  return { rate: (total / result.elapsedMs) * 1000, cpuUsPerMessage: result.brokerCpuUs / total, mainCpuUsPerMessage: result.threads === null ? null : result.threads.mainUs / total };
}

/** An mqpay broker on loopback in a temporary directory, with the per-device limits out of the way of a load test. */
export async function startBenchBroker(): Promise<{ app: BrokerApp; url: string; close: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mqpay-bench-'));
  const app = await createBrokerApp(
    { dataDir, mqttPort: 0, operatorToken: 'bench-operator-token-0123456789', messagesPerSecondPerDevice: 1_000_000, messagesBurstPerDevice: 1_000_000, inFlightPerDevice: 100_000, logLevel: 'silent' },
    { logger: pino({ level: 'silent' }) },
  );
  const { mqttPort } = await app.listen();
  return {
    app,
    url: `mqtt://127.0.0.1:${mqttPort}`,
    close: async () => {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A device's MQTT CONNECT password (connect token and signature) as the load worker takes it. */
export const benchPassword = (device: string, keys: KeyPair): number[] => [...signConnectPassword({ device, broker: 'mqpay', timeMs: Date.now(), nonce: new Uint8Array(randomBytes(16)), secretKey: keys.secretKey, sign })];

/** Enrols `payer-{i}` (funded with 1000) and `payee-{i}` directly in the broker's ledger. */
export function enrolBenchPair(app: BrokerApp, i: number): { payer: KeyPair; payee: KeyPair } {
  const random = (n: number) => new Uint8Array(randomBytes(n));
  const payer = generateKeyPair(random);
  const payee = generateKeyPair(random);
  addDevice(app.db, `payer-${i}`, payer.publicKey, Date.now());
  addDevice(app.db, `payee-${i}`, payee.publicKey, Date.now());
  fundWallet(app.db, `payer-${i}`, parseAmount('1000'), `fund-${i}`, Date.now());
  return { payer, payee };
}
