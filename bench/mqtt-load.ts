// What the broker benches share: the load generator (a worker thread on the other core) and the
// raw aedes relay each mqpay figure is a ratio to, measured in the same run.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Aedes } from 'aedes';
import { pino } from 'pino';
import { createBrokerApp, type BrokerApp } from '../broker/app.js';
import { signConnectPassword } from '../shared/connect-token.js';
import { sign } from '../shared/crypto.js';
import { generateKeyPair, type KeyPair } from '../shared/keys.js';
import { parseAmount } from '../shared/amount.js';
import { addDevice } from '../broker/store/sqlite/devices.js';
import { fundWallet } from '../broker/store/sqlite/ledger.js';

export function runLoad(job: object): Promise<{ received: number; elapsedMs: number }> {
  const worker = new Worker(new URL('./mqtt-load-worker.mjs', import.meta.url), { workerData: job });
  return new Promise((resolve, reject) => {
    worker.on('message', (message: { type: string; received: number; elapsedMs: number }) => {
      if (message.type === 'ready') worker.postMessage('go');
      else resolve(message);
    });
    worker.on('error', reject);
  });
}

/** Messages per second through a bare aedes: `publishers` clients each publish to a topic they subscribe to (one in, one out). */
export async function rawRelay(payloadSize: number, total: number, publishers: number, qos: 0 | 1 = 1): Promise<number> {
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const payload = 'x'.repeat(payloadSize);
  const per = total / publishers;
  const jobs = Array.from({ length: publishers }, (_, i) => ({ clientId: `raw-${i}`, topic: `bench/relay/${i}`, replyTopic: `bench/relay/${i}`, payloads: Array.from({ length: per }, () => payload) }));
  const result = await runLoad({ url: `mqtt://127.0.0.1:${port}`, publishers: jobs, expectReplies: total, replyMatch: '', qos });
  server.close();
  await new Promise<void>((resolve) => aedes.close(() => resolve()));
  return (result.received / result.elapsedMs) * 1000;
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
