// A slow disk: the broker's commit fsync (the WAL's fdatasync, off the event loop) is held on a
// promise the test releases, as a disk taking seconds to flush would hold it. While it is held,
// the broker answers pings, reads and refusals; the write waiting for it is not answered; once the
// wait passes the bound the storage alarm is raised (a `disk-slow` storage fault: log, metrics,
// the operator's alarms stream) and new writes are refused SERVICE_UNAVAILABLE (retryable).
// After the release the held write is accepted, the alarm clears, writes are taken again, and the ledger reopened from its file holds
// everything that was acknowledged. The broker runs in this process: had it waited for the disk
// on the event loop, none of this test's steps could run while the fsync is held.
import { afterEach, describe, expect, it } from 'vitest';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { openDatabase } from '../broker/store/sqlite/open-database.js';
import type { SyncWal } from '../broker/store/sqlite/wal-sync.js';
import { CheckpointStall } from '../broker/store/sqlite/checkpoint-stall.js';
import type { TelemetryEvent } from '../broker/service/telemetry.js';
import { incidentOf } from '../broker/operator/http/alarm-monitor.js';
import type { DeviceLink } from '../agent/link/link.js';
import { generateKeyPair } from '../shared/keys.js';
import { amountOf } from '../shared/amount.js';
import { MqpayError } from '../shared/errors.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import { payVoucher, random, signedVoucher, startBroker, tempDir, type RunningBroker } from './helpers/broker-fixture.js';

/** A disk whose fsyncs can be held: each held one waits for `release()`, then runs for real. */
class HeldDisk {
  private holding = false;
  private readonly held: (() => void)[] = [];
  private onHeld: (() => void) | null = null;

  hold(): Promise<void> {
    this.holding = true;
    return new Promise((resolve) => (this.onHeld = resolve));
  }

  get pending(): number {
    return this.held.length;
  }

  release(): void {
    this.holding = false;
    for (const go of this.held.splice(0)) go();
  }

  wrap(real: SyncWal): SyncWal {
    return async () => {
      if (this.holding) {
        await new Promise<void>((resolve) => {
          this.held.push(resolve);
          this.onHeld?.();
        });
      }
      await real();
    };
  }
}

function nextEvent(broker: RunningBroker, match: (event: TelemetryEvent) => boolean): Promise<TelemetryEvent> {
  return new Promise((resolve) => {
    const off = broker.app.service.telemetry.on((event) => {
      if (!match(event)) return;
      off();
      resolve(event);
    });
  });
}

function ping(link: DeviceLink): Promise<void> {
  return new Promise((resolve) => {
    const onPacket = (packet: { cmd: string }) => {
      if (packet.cmd !== 'pingresp') return;
      link.client.off('packetreceive', onPacket);
      resolve();
    };
    link.client.on('packetreceive', onPacket);
    link.client.sendPing();
  });
}

/** A payer ('car-X', 10) with a channel to 'meter-X' and one voucher accepted, and a bystander ('bike-X', 5). */
async function payingCar(running: RunningBroker, suffix: string) {
  const keys = running.enrol(`car-${suffix}`, '10');
  const bystanderKeys = running.enrol(`bike-${suffix}`, '5');
  running.enrol(`meter-${suffix}`);
  const car = await running.link(`car-${suffix}`, keys);
  const bystander = await running.link(`bike-${suffix}`, bystanderKeys);
  const channelId = newChannelId(random);
  await car.request('channel.open', { channel: toHex(channelId), payee: `meter-${suffix}`, deposit: '2', durationSeconds: 600 });
  expect((await payVoucher(car, signedVoucher(keys, { channelId, seq: 1n, total: amountOf(100n) }))).type).toBe('voucher.accepted');
  return { keys, car, bystander, channelId };
}

const dir = tempDir('mqpay-slow-disk-');
/** The checkpoint worker's interval in the stalled-checkpoint test: the stall comes at once. */
const CHECKPOINT_INTERVAL_MS = 20;
const PINGS_WHILE_STALLED = 20;
/** A ping's round trip while the worker holds the lock; on the loop, it would never return. */
const PING_MS_MAX = 1_000;
let broker: RunningBroker | null = null;
let disk = new HeldDisk();
let stall = new CheckpointStall();
afterEach(async () => {
  disk.release();
  stall.release(); // a stalled worker would never take the close message
  await broker?.stop();
  broker = null;
  dir.remove();
});

describe('a slow disk', () => {
  it('pings, reads and refusals are answered while a commit waits for its fsync; writes past the bound get SERVICE_UNAVAILABLE; all resumes and nothing acknowledged is lost', async () => {
    disk = new HeldDisk();
    broker = await startBroker({ storeLockWaitMs: 300 }, dir.path, { syncWal: (real) => disk.wrap(real) });
    const { keys, car, bystander, channelId } = await payingCar(broker, 'slow');

    // The disk stops: the next commit (voucher 2) waits for its fsync, unanswered.
    const held = disk.hold();
    let heldAnswer: Record<string, unknown> | null = null;
    const heldVoucher = payVoucher(car, signedVoucher(keys, { channelId, seq: 2n, total: amountOf(200n) })).then((reply) => (heldAnswer = reply));
    await held;

    // Meanwhile: a ping, another device's read and a forged voucher's refusal, each answered
    // while the fsync is still held. (The payer's own reads wait for its voucher in flight, by
    // design: a device reads its own writes.)
    await ping(bystander);
    expect(await bystander.request('wallet.balance', {})).toEqual({ device: 'bike-slow', balance: '5' });
    const forged = signedVoucher(generateKeyPair(random), { channelId, seq: 3n, total: amountOf(300n) });
    expect(await payVoucher(car, forged)).toMatchObject({ type: 'voucher.rejected', seq: '3', error: { code: 'SIGNATURE_INVALID' } });
    expect(disk.pending).toBe(1);
    expect(heldAnswer).toBeNull();

    // Past the bound: the alarm (a storage fault, as a full disk raises), and writes are refused.
    const alarms: TelemetryEvent[] = [];
    const off = broker.app.service.telemetry.on((event) => {
      if (event.kind === 'storage.sync-stall' || event.kind === 'storage.fault') alarms.push(event);
    });
    if (!broker.app.service.telemetry.storageSyncStalls.stalled) await nextEvent(broker, (event) => event.kind === 'storage.sync-stall');
    expect(broker.app.service.telemetry.storageSyncStalls).toEqual({ count: 1, stalled: true });
    const voucher3 = signedVoucher(keys, { channelId, seq: 3n, total: amountOf(300n) });
    expect(await payVoucher(car, voucher3)).toMatchObject({ type: 'voucher.rejected', seq: '3', error: { code: 'SERVICE_UNAVAILABLE', retryable: true } });
    const secondChannel = newChannelId(random);
    const open = bystander.request('channel.open', { channel: toHex(secondChannel), payee: 'meter-slow', deposit: '1', durationSeconds: 600 });
    await expect(open).rejects.toBeInstanceOf(MqpayError);
    await expect(open).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true });
    expect(await bystander.request('wallet.balance', {})).toEqual({ device: 'bike-slow', balance: '5' });
    await ping(car);
    expect(disk.pending).toBe(1);
    expect(heldAnswer).toBeNull();

    // The disk is back: the held voucher is accepted, the alarm clears, writes go through.
    const recovered = nextEvent(broker, (event) => event.kind === 'storage.sync-stall' && event.state === 'recovered');
    disk.release();
    await heldVoucher;
    expect(heldAnswer).toMatchObject({ type: 'voucher.accepted', seq: '2' });
    await recovered;
    off();
    expect(alarms.map((event) => (event.kind === 'storage.fault' ? `${event.kind}:${event.reason}` : `${event.kind}:${(event as { state: string }).state}`))).toEqual([
      'storage.sync-stall:stalled', 'storage.fault:disk-slow', 'storage.sync-stall:recovered',
    ]);
    // The operator's alarms stream shows it as a storage fault, counted with the others.
    expect(incidentOf(alarms[1] as TelemetryEvent)).toEqual({ kind: 'storage.fault', client: null, code: 'SERVICE_UNAVAILABLE', detail: 'disk-slow' });
    expect(broker.app.service.telemetry.storageFaults).toBe(1);
    expect(broker.app.service.telemetry.storageSyncStalls).toEqual({ count: 1, stalled: false });
    expect((await payVoucher(car, voucher3)).type).toBe('voucher.accepted');
    await bystander.request('channel.open', { channel: toHex(secondChannel), payee: 'meter-slow', deposit: '1', durationSeconds: 600 });

    // Reopened from its file, the ledger holds everything acknowledged, and audits clean.
    await broker.stop();
    broker = null;
    const db = openDatabase(dir.path);
    try {
      expect(getChannel(db, channelId)).toMatchObject({ latestSeq: 3n, latestTotal: 300n });
      expect(getChannel(db, secondChannel)).toMatchObject({ state: 'open' });
      expect(auditLedger(db).filter((check) => !check.ok)).toEqual([]);
    } finally {
      db.close();
    }
  });
});

describe('a disk stalling under the checkpoint worker', () => {
  it('while the worker holds the write lock for the WAL header\'s fsync, pings, reads and refusals are answered; a voucher waits for the lock with timers and is accepted once it is free', async () => {
    stall = new CheckpointStall();
    broker = await startBroker({ storeLockWaitMs: 60_000 }, dir.path, { checkpoints: { intervalMs: CHECKPOINT_INTERVAL_MS, stall } });
    const { keys, car, bystander, channelId } = await payingCar(broker, 'ckpt');

    // The next complete checkpoint stops in the worker's WAL-restart write, the lock held. A
    // write after the hold is armed makes sure there is one (an idle WAL is left alone); it may
    // commit before the stall or wait for it.
    const held = stall.hold();
    const trigger = payVoucher(car, signedVoucher(keys, { channelId, seq: 2n, total: amountOf(200n) }));
    await held;
    const lockWaits: TelemetryEvent[] = [];
    const off = broker.app.service.telemetry.on((event) => {
      if (event.kind === 'storage.lock-wait') lockWaits.push(event);
    });
    let heldAnswer: Record<string, unknown> | null = null;
    const heldVoucher = payVoucher(car, signedVoucher(keys, { channelId, seq: 3n, total: amountOf(300n) })).then((reply) => (heldAnswer = reply));
    let pingMsMax = 0;
    for (let round = 0; round < PINGS_WHILE_STALLED; round++) {
      const startedMs = performance.now();
      await ping(bystander);
      pingMsMax = Math.max(pingMsMax, performance.now() - startedMs);
    }
    expect(pingMsMax).toBeLessThan(PING_MS_MAX);
    expect(await bystander.request('wallet.balance', {})).toEqual({ device: 'bike-ckpt', balance: '5' });
    const forged = signedVoucher(generateKeyPair(random), { channelId, seq: 4n, total: amountOf(400n) });
    expect(await payVoucher(car, forged)).toMatchObject({ type: 'voucher.rejected', seq: '4', error: { code: 'SIGNATURE_INVALID' } });
    expect(heldAnswer).toBeNull();

    // The disk is back: the waiting writes get the lock on a later try (no SERVICE_UNAVAILABLE).
    stall.release();
    expect(await trigger).toMatchObject({ type: 'voucher.accepted', seq: '2' });
    await heldVoucher;
    expect(heldAnswer).toMatchObject({ type: 'voucher.accepted', seq: '3' });
    off();
    expect(lockWaits.length).toBeGreaterThanOrEqual(1);
    expect(lockWaits.every((event) => event.kind === 'storage.lock-wait' && event.acquired)).toBe(true);
    expect((await payVoucher(car, signedVoucher(keys, { channelId, seq: 4n, total: amountOf(400n) }))).type).toBe('voucher.accepted');
  });
});
