// The protocol is open: a reference device in Python (examples/python-device, written from
// docs/PROTOCOL.md with Debian's python3-paho-mqtt and python3-cryptography) pays a TypeScript
// device and is paid by one, through a real broker on loopback, real SQLite. Its vouchers and
// receipts travel as the binary frames of protocol v3.
import { spawn, spawnSync } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { amountOf } from '../shared/amount.js';
import { fromHex, toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import { generateKeyPair } from '../shared/keys.js';
import { decodeReceipt } from '../shared/receipt.js';
import { receiptFrameAsJson } from './helpers/inbox-frame-json.js';
import { nextInbox, payVoucher, random, signedVoucher, startBroker, type RunningBroker } from './helpers/broker-fixture.js';

const PYTHON = '/usr/bin/python3';
const DEVICE = 'examples/python-device/mqpay_device.py';

let broker: RunningBroker | null = null;
afterEach(async () => {
  await broker?.stop();
  broker = null;
});

beforeAll(() => {
  const probe = spawnSync(PYTHON, ['-c', 'import paho.mqtt.client, cryptography'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error(`this test needs ${PYTHON} with Debian's python3-paho-mqtt and python3-cryptography (apt-get install python3-paho-mqtt python3-cryptography): ${probe.stderr || probe.error?.message}`);
  }
});

interface PythonRun {
  readonly subscribed: Promise<void>;
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function runPython(args: readonly string[]): PythonRun {
  const child = spawn(PYTHON, [DEVICE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let markSubscribed: () => void = () => undefined;
  const subscribed = new Promise<void>((resolve) => {
    markSubscribed = resolve;
  });
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.includes('subscribed to its inbox')) markSubscribed();
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { subscribed, done };
}

const seedAndKey = () => {
  const seed = random(32);
  return { seed, publicKey: generateKeyPair(() => seed).publicKey };
};

describe('a Python device written from docs/PROTOCOL.md', () => {
  it('opens a channel and pays three vouchers; the service accepts the last, total 0.000375', async () => {
    broker = await startBroker();
    const python = seedAndKey();
    await broker.app.service.enrol('py-car', python.publicKey);
    await broker.app.service.fund('py-car', amountOf(5_000_000n), 'py-car-grant');
    const chargerKeys = broker.enrol('charger-1');
    const charger = await broker.link('charger-1', chargerKeys);
    const forwarded = nextInbox(charger, 'voucher', (message) => message.type === 'voucher', 15_000);

    const run = runPython(['--port', String(broker.mqttPort), '--device', 'py-car', '--seed-hex', toHex(python.seed), '--broker-id', broker.app.config.brokerId,
      'pay', '--payee', 'charger-1', '--deposit', '1', '0.000125', '0.000125', '0.000125']);
    const result = await run.done;
    expect(result.stderr).not.toMatch(/Traceback/);
    expect(result.code).toBe(0);
    const paid = JSON.parse(result.stdout) as { channel: string; deposit: string; seq: string; total: string };
    expect(paid).toMatchObject({ deposit: '1', seq: '3', total: '0.000375' });
    expect(getChannel(broker.app.db, fromHex(paid.channel))).toMatchObject({ payer: 'py-car', payee: 'charger-1', latestSeq: 3n, latestTotal: 375n });
    expect(await forwarded).toMatchObject({ payer: 'py-car' });
    expect(auditLedger(broker.app.db).filter((check) => !check.ok)).toEqual([]);
  });

  it('is paid by a TypeScript device: checks each forwarded voucher offline and answers with a signed receipt', async () => {
    broker = await startBroker();
    const python = seedAndKey();
    await broker.app.service.enrol('py-meter', python.publicKey);
    const carKeys = broker.enrol('car-1', '5');
    const car = await broker.link('car-1', carKeys);

    const run = runPython(['--port', String(broker.mqttPort), '--device', 'py-meter', '--seed-hex', toHex(python.seed), '--broker-id', broker.app.config.brokerId, 'receive', '--count', '2']);
    await run.subscribed;
    const channelId = newChannelId(random);
    await car.request('channel.open', { channel: toHex(channelId), payee: 'py-meter', deposit: '1', durationSeconds: 600 });
    const receipts: Record<string, unknown>[] = [];
    car.on('inbox', (box: string, payload: Uint8Array) => {
      // The receipts the Python payee signed reach the payer as v3 binary forwards (in/receipt-bin).
      if (box === 'receipt-bin') receipts.push(receiptFrameAsJson(payload));
    });
    for (const seq of [1n, 2n]) {
      expect((await payVoucher(car, signedVoucher(carKeys, { channelId, seq, total: amountOf(seq * 250n) }))).type).toBe('voucher.accepted');
    }
    const result = await run.done;
    expect(result.stderr).not.toMatch(/Traceback/);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ channel: toHex(channelId), payer: 'car-1', seq: '2', total: '0.0005' });
    await expect.poll(() => receipts.length, { timeout: 10_000 }).toBe(2);
    const last = receipts[1] as { type: string; payee: string; receipt: string };
    expect(last).toMatchObject({ type: 'receipt', payee: 'py-meter' });
    expect(decodeReceipt(fromHex(last.receipt))).toMatchObject({ seq: 2n, total: 500n });
  });
});
