// Sustained throughput with light simulated devices: no agent and no local SQLite, just a
// DeviceLink (the agent's MQTT link, with connect-token auth) per device and vouchers signed
// directly, half the devices paying the other half back to back. This is what lets one
// machine put 2,000 devices on the broker and find the broker's limit rather than the
// simulator's. The broker runs as a child process and its memory is sampled.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceLink } from '../agent/link/link.js';
import { systemRandom } from '../broker/app.js';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { addDevice } from '../broker/store/sqlite/devices.js';
import { fundWallet } from '../broker/store/sqlite/ledger.js';
import { openDatabase } from '../broker/store/sqlite/open-database.js';
import { amountOf, parseAmount } from '../shared/amount.js';
import { sign } from '../shared/crypto.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import { generateKeyPair, type KeyPair } from '../shared/keys.js';
import { encodeVoucher } from '../shared/voucher.js';
import { decodeVoucherInboxFrame } from '../shared/inbox-frames.js';
import { encodeVoucherFrame } from '../shared/signed-frames.js';
import { BrokerLog } from '../simulator/world/broker-log.js';
import { BrokerProcess, defaultBrokerEntry } from '../simulator/world/broker-process.js';
import { freePort } from '../simulator/world/free-port.js';
import { systemSimClock } from '../simulator/world/sim-clock.js';
import { measure, type BenchResult } from './sim-measure.js';

const CONNECT_BATCH = 100;
/** A voucher unanswered this long is published again (re-sends are idempotent). */
const RESEND_AFTER_MS = 5_000;
const clock = { nowMs: () => Date.now() };

class LightPayer {
  private seq = 0n;
  private readonly expiresAtSeconds = BigInt(Math.floor(Date.now() / 1000) + 3600);
  private waiting: { seq: bigint; resolve: () => void } | null = null;

  constructor(private readonly link: DeviceLink, private readonly keys: KeyPair, private readonly channel: Uint8Array) {
    link.on('inbox', (box: string, payload: Uint8Array) => {
      if (box !== 'voucher-bin' || this.waiting === null) return;
      const frame = decodeVoucherInboxFrame(payload);
      if (frame.type === 'voucher.accepted' && frame.seq === this.waiting.seq) this.waiting.resolve();
    });
  }

  /** Signs the next cumulative voucher (one micro-unit more) and waits for "accepted", re-sending it if the answer is lost. */
  async payOnce(): Promise<void> {
    this.seq += 1n;
    const bytes = encodeVoucher({ channelId: this.channel, seq: this.seq, total: amountOf(this.seq), expiresAtSeconds: this.expiresAtSeconds, memoDigest: null });
    const frame = encodeVoucherFrame(bytes, sign(bytes, this.keys.secretKey)); // protocol v3: out/voucher-bin
    for (;;) {
      const accepted = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), RESEND_AFTER_MS);
        this.waiting = { seq: this.seq, resolve: () => resolve(clearTimeout(timer) === undefined) };
      });
      await this.link.publishFrame('voucher-bin', frame).catch(() => undefined);
      if (await accepted) return;
    }
  }
}

function enrol(dataDir: string, pairs: number): { payers: KeyPair[]; payees: KeyPair[] } {
  const db = openDatabase(dataDir);
  const payers = Array.from({ length: pairs }, () => generateKeyPair(systemRandom));
  const payees = Array.from({ length: pairs }, () => generateKeyPair(systemRandom));
  db.transaction(() => {
    payers.forEach((keys, i) => {
      addDevice(db, `payer-${i}`, keys.publicKey, Date.now());
      fundWallet(db, `payer-${i}`, parseAmount('100'), `bench:${i}`, Date.now());
    });
    payees.forEach((keys, i) => addDevice(db, `payee-${i}`, keys.publicKey, Date.now()));
  })();
  db.close();
  return { payers, payees };
}

async function connectAll(url: string, devices: { id: string; keys: KeyPair }[]): Promise<DeviceLink[]> {
  const links: DeviceLink[] = [];
  for (let i = 0; i < devices.length; i += CONNECT_BATCH) {
    links.push(...(await Promise.all(devices.slice(i, i + CONNECT_BATCH).map(({ id, keys }) =>
      DeviceLink.connect({ url, device: id, secretKey: keys.secretKey, brokerId: 'mqpay', clock, random: systemRandom, requestTimeoutMs: 30_000 })))));
  }
  return links;
}

async function openChannels(links: DeviceLink[], payers: KeyPair[]): Promise<LightPayer[]> {
  const out: LightPayer[] = [];
  for (let i = 0; i < links.length; i += CONNECT_BATCH) {
    out.push(...(await Promise.all(links.slice(i, i + CONNECT_BATCH).map(async (link, j) => {
      const channel = newChannelId(systemRandom);
      await link.request('channel.open', { channel: toHex(channel), payee: `payee-${i + j}`, deposit: '50', durationSeconds: 3600 });
      return new LightPayer(link, payers[i + j] as KeyPair, channel);
    }))));
  }
  return out;
}

export async function benchLinks(devices: number, warmupMs: number, windowMs: number): Promise<BenchResult> {
  const pairs = Math.floor(devices / 2);
  const dataDir = mkdtempSync(join(tmpdir(), 'mqpay-bench-links-'));
  const { payers, payees } = enrol(dataDir, pairs);
  const mqttPort = await freePort();
  const broker = new BrokerProcess({ entry: defaultBrokerEntry(), dataDir, mqttPort, httpPort: null, epochSeconds: 5, operatorToken: toHex(systemRandom(24)), log: new BrokerLog() });
  await broker.start();
  const url = `mqtt://127.0.0.1:${mqttPort}`;
  const startedMs = Date.now();
  const payeeLinks = await connectAll(url, payees.map((keys, i) => ({ id: `payee-${i}`, keys })));
  const payerLinks = await connectAll(url, payers.map((keys, i) => ({ id: `payer-${i}`, keys })));
  const light = await openChannels(payerLinks, payers);
  const startupS = (Date.now() - startedMs) / 1000;
  const counter = { accepted: 0, stopped: false };
  const loops = light.map(async (payer) => {
    while (!counter.stopped) {
      await payer.payOnce();
      counter.accepted += 1;
    }
  });
  const result = await measure({ counter, warmupMs, windowMs, clock: systemSimClock, broker });
  counter.stopped = true;
  await Promise.all(loops);
  await Promise.all([...payerLinks, ...payeeLinks].map((link) => link.close()));
  await broker.stop();
  const db = openDatabase(dataDir);
  const auditOk = auditLedger(db).every((check) => check.ok);
  db.close();
  rmSync(dataDir, { recursive: true, force: true });
  return { ...result, devices, kind: 'light links', payers: pairs, startupS, auditOk, failed: 0 };
}
