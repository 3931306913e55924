// Persist before acknowledge, tested the hard way: the broker runs as a child process and is
// killed with SIGKILL in the middle of a voucher stream (with 1-second epochs, so it may die
// inside a settlement). After a restart on the same data, every voucher that was answered
// "accepted" is in SQLite, nothing was settled twice, and the ledger audits clean.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceLink } from '../agent/link/link.js';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { addDevice } from '../broker/store/sqlite/devices.js';
import { findVoucher, getChannel } from '../broker/store/sqlite/channels.js';
import { fundWallet } from '../broker/store/sqlite/ledger.js';
import { openDatabase } from '../broker/store/sqlite/open-database.js';
import { amountOf, parseAmount } from '../shared/amount.js';
import { toHex } from '../shared/hex.js';
import { generateKeyPair } from '../shared/keys.js';
import { newChannelId } from '../shared/ids.js';
import { freePort, startChildBroker, type ChildBroker } from './helpers/child-broker.js';
import { random, signedVoucher, tempDir } from './helpers/broker-fixture.js';

const PRICE_MICRO = 125n;

describe('broker crash (SIGKILL) mid-stream', () => {
  const dir = tempDir('mqpay-crash-');
  const payerKeys = generateKeyPair(random);
  const payeeKeys = generateKeyPair(random);
  let port = 0;
  let broker: ChildBroker | null = null;

  beforeAll(async () => {
    const db = openDatabase(dir.path);
    addDevice(db, 'vehicle-1', payerKeys.publicKey, Date.now());
    addDevice(db, 'charger-1', payeeKeys.publicKey, Date.now());
    fundWallet(db, 'vehicle-1', parseAmount('100'), 'vehicle-1', Date.now());
    db.close();
    port = await freePort();
  });
  afterAll(async () => {
    await broker?.kill('SIGKILL');
    dir.remove();
  });

  const start = async () => {
    broker = await startChildBroker(['--data', dir.path, '--mqtt-port', String(port), '--epoch-seconds', '1', '--log-level', 'warn', '--operator-token', 'crash-test-operator-token']);
  };

  it('loses no accepted voucher and settles nothing twice', async () => {
    await start();
    const link = await DeviceLink.connect({ url: `mqtt://127.0.0.1:${port}`, device: 'vehicle-1', secretKey: payerKeys.secretKey, brokerId: 'mqpay', clock: { nowMs: () => Date.now() }, random, reconnectPeriodMs: 200, requestTimeoutMs: 10_000 });
    const channelId = newChannelId(random);
    await link.request('channel.open', { channel: toHex(channelId), payee: 'charger-1', deposit: '50', durationSeconds: 3600 });

    const accepted = new Map<bigint, bigint>();
    const verdictWaiters = new Map<bigint, () => void>();
    link.on('inbox', (box: string, payload: Uint8Array) => {
      if (box !== 'voucher') return; // this test's vouchers are JSON, answered in JSON
      const message = JSON.parse(new TextDecoder().decode(payload)) as { type: string; seq?: string; total?: string };
      if (box === 'voucher' && message.type === 'voucher.accepted' && message.seq !== undefined && message.total !== undefined) {
        accepted.set(BigInt(message.seq), parseAmount(message.total));
      }
      if (box === 'voucher' && message.seq !== undefined) verdictWaiters.get(BigInt(message.seq))?.();
    });
    /** Resolves when the service answers the voucher with this seq (accepted or not); the timeout only guards. */
    const verdictFor = (wanted: bigint, timeoutMs = 10_000) => new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        verdictWaiters.delete(wanted);
        reject(new Error(`no verdict for seq ${wanted} within ${timeoutMs} ms`));
      }, timeoutMs);
      verdictWaiters.set(wanted, () => {
        clearTimeout(timer);
        verdictWaiters.delete(wanted);
        resolve();
      });
    });

    // Stream vouchers for a while; kill the broker once a few hundred have been accepted.
    let seq = 0n;
    const sendBatch = (count: number) => {
      for (let i = 0; i < count; i++) {
        seq += 1n;
        link.publish('voucher', signedVoucher(payerKeys, { channelId, seq, total: amountOf(seq * PRICE_MICRO) })).catch(() => undefined);
      }
    };
    while (accepted.size < 300) {
      sendBatch(50);
      await verdictFor(seq); // the batch's last voucher was answered: the batch went through the service
    }
    sendBatch(200); // in flight when the power goes
    await broker?.kill('SIGKILL');
    const acceptedBeforeCrash = new Map(accepted);
    expect(acceptedBeforeCrash.size).toBeGreaterThanOrEqual(300);

    // Everything answered "accepted" is on disk, with the total that was accepted.
    const db = openDatabase(dir.path);
    for (const [acceptedSeq, total] of acceptedBeforeCrash) {
      expect(findVoucher(db, channelId, acceptedSeq)?.total).toBe(total);
    }
    const latest = getChannel(db, channelId);
    expect(latest?.latestSeq).toBeGreaterThanOrEqual([...acceptedBeforeCrash.keys()].reduce((a, b) => (a > b ? a : b)));
    expect(auditLedger(db).filter((check) => !check.ok)).toEqual([]);
    db.close();

    // Restart on the same data; the device reconnects by itself (fresh token) and goes on paying.
    await start();
    await new Promise<void>((resolve) => (link.connected ? resolve() : link.once('connect', () => resolve())));
    const reader = openDatabase(dir.path);
    const resumeFrom = getChannel(reader, channelId)?.latestSeq ?? 0n;
    reader.close();
    seq = resumeFrom;
    const target = resumeFrom + 100n;
    sendBatch(100);
    await expect.poll(() => accepted.has(target), { timeout: 10_000 }).toBe(true);
    // Wait for the 1-second epochs to settle everything up to the target, then stop cleanly.
    const watcher = openDatabase(dir.path);
    try {
      await expect.poll(() => getChannel(watcher, channelId)?.settledTotal, { timeout: 10_000, interval: 50 }).toBe(target * PRICE_MICRO);
    } finally {
      watcher.close();
    }
    await link.close();
    await broker?.kill('SIGTERM');

    const after = openDatabase(dir.path);
    const channel = getChannel(after, channelId);
    expect(channel?.latestSeq).toBe(target);
    expect(channel?.settledTotal).toBe(target * PRICE_MICRO);
    const failed = auditLedger(after).filter((check) => !check.ok);
    after.close();
    expect(failed).toEqual([]);
  });
});
