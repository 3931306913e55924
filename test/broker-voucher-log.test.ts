// The voucher log follows channels (broker/store/sqlite/voucher-log.ts): each channel keeps its
// newest VOUCHERS_KEPT_PER_CHANNEL vouchers, over real MQTT and a real SQLite file. What the
// evidence rules need stays [docs/DESIGN.md rule 11]: the channel's latest voucher, the exact
// voucher each settlement settled, double-sign evidence, all re-verified by the audit with
// signatures; a re-send inside the window is answered as before (accepted, or a double-sign),
// one older than it is refused and moves nothing.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escrowAccount, walletAccount } from '../broker/store/accounts.js';
import { addDevice } from '../broker/store/sqlite/devices.js';
import { accountKey, ensureAccount } from '../broker/store/sqlite/ledger.js';
import { MIGRATIONS } from '../broker/store/sqlite/migrations.js';
import { DATABASE_FILE, openDatabase } from '../broker/store/sqlite/open-database.js';
import { openSqlite } from '../sqlite/open.js';
import { generateKeyPair } from '../shared/keys.js';
import { VOUCHERS_KEPT_PER_CHANNEL } from '../broker/limits.js';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { countDoubleSigns, getChannel, insertChannel, insertVoucher } from '../broker/store/sqlite/channels.js';
import { channelEvidence } from '../broker/store/sqlite/evidence.js';
import type { DeviceLink } from '../agent/link/link.js';
import { amountOf } from '../shared/amount.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import type { KeyPair } from '../shared/keys.js';
import { payVoucher, random, settledResult, signedVoucher, startBroker, tempDir, type RunningBroker } from './helpers/broker-fixture.js';

const PAYMENTS = 12;
const STEP = 1_000n;

describe('broker: the voucher log follows channels', () => {
  let broker: RunningBroker;
  let carKeys: KeyPair;
  let car: DeviceLink;
  let channelId: Uint8Array;

  const loggedSeqs = (): bigint[] =>
    (broker.app.db.prepare('SELECT v.seq FROM vouchers v JOIN channels c ON c.num = v.channel WHERE c.id = ? ORDER BY v.seq').all(channelId) as { seq: bigint }[]).map((row) => row.seq);
  const voucherAt = (seq: bigint, total = BigInt(seq) * STEP) => signedVoucher(carKeys, { channelId, seq, total: amountOf(total) });
  const range = (from: number, to: number): bigint[] => Array.from({ length: to - from + 1 }, (_, i) => BigInt(from + i));

  beforeAll(async () => {
    broker = await startBroker();
    carKeys = broker.enrol('car-log', '10');
    broker.enrol('meter-log');
    car = await broker.link('car-log', carKeys);
    channelId = newChannelId(random);
    await car.request('channel.open', { channel: toHex(channelId), payee: 'meter-log', deposit: '1', durationSeconds: 3_600 });
    for (let seq = 1; seq <= PAYMENTS; seq++) expect(await payVoucher(car, voucherAt(BigInt(seq)))).toMatchObject({ type: 'voucher.accepted' });
  });
  afterAll(async () => {
    await broker.stop();
  });

  it(`keeps the newest ${VOUCHERS_KEPT_PER_CHANNEL} vouchers of a channel, the latest among them`, () => {
    expect(loggedSeqs()).toEqual(range(PAYMENTS - VOUCHERS_KEPT_PER_CHANNEL + 1, PAYMENTS));
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ latestSeq: BigInt(PAYMENTS), latestTotal: BigInt(PAYMENTS) * STEP });
    expect(auditLedger(broker.app.db, { verifySignatures: true }).filter((check) => !check.ok)).toEqual([]);
  });

  it('answers a re-send inside the window as before: the same voucher accepted, another total a double-sign kept as evidence', async () => {
    const inside = BigInt(PAYMENTS - VOUCHERS_KEPT_PER_CHANNEL + 1);
    expect(await payVoucher(car, voucherAt(inside))).toMatchObject({ type: 'voucher.accepted', seq: inside.toString() });
    expect(await payVoucher(car, voucherAt(inside, inside * STEP + 1n))).toMatchObject({ type: 'voucher.rejected', error: { code: 'VOUCHER_DOUBLE_SIGNED' } });
    expect(countDoubleSigns(broker.app.db, channelId)).toBe(1);
    expect(loggedSeqs()).toEqual(range(PAYMENTS - VOUCHERS_KEPT_PER_CHANNEL + 1, PAYMENTS));
  });

  it('refuses a re-send older than the window, moving nothing', async () => {
    expect(await payVoucher(car, voucherAt(1n))).toMatchObject({ type: 'voucher.rejected', error: { code: 'VOUCHER_SEQ_NOT_INCREASING' } });
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ latestSeq: BigInt(PAYMENTS), latestTotal: BigInt(PAYMENTS) * STEP });
  });

  it('a settlement keeps the exact voucher it settled, re-verified with its signature, and payments go on', async () => {
    const settled = await settledResult(broker.app.service.settleNow());
    expect(settled.channelCount).toBe(1);
    const evidence = channelEvidence(broker.app.db, channelId);
    expect(evidence?.settled.map((s) => [s.seq, s.total])).toEqual([[String(PAYMENTS), String(BigInt(PAYMENTS) * STEP)]]);
    expect(evidence?.latest).toMatchObject({ seq: String(PAYMENTS) });
    expect(evidence?.doubleSigns).toHaveLength(1);
    expect(await payVoucher(car, voucherAt(BigInt(PAYMENTS + 1)))).toMatchObject({ type: 'voucher.accepted' });
    expect(loggedSeqs()).toEqual(range(PAYMENTS - VOUCHERS_KEPT_PER_CHANNEL + 2, PAYMENTS + 1));
    expect(auditLedger(broker.app.db, { verifySignatures: true }).filter((check) => !check.ok)).toEqual([]);
  });

  it('keeps the newest ones too when a burst shares group commits (each channel compacted once per batch)', async () => {
    const burstId = newChannelId(random);
    await car.request('channel.open', { channel: toHex(burstId), payee: 'meter-log', deposit: '1', durationSeconds: 3_600 });
    const seqs = range(1, 40);
    const verdicts = await Promise.all(seqs.map((seq) => payVoucher(car, signedVoucher(carKeys, { channelId: burstId, seq, total: amountOf(seq * STEP) }))));
    expect(verdicts.every((verdict) => verdict.type === 'voucher.accepted')).toBe(true);
    const logged = (broker.app.db.prepare('SELECT v.seq FROM vouchers v JOIN channels c ON c.num = v.channel WHERE c.id = ? ORDER BY v.seq').all(burstId) as { seq: bigint }[]).map((row) => row.seq);
    expect(logged).toEqual(range(40 - VOUCHERS_KEPT_PER_CHANNEL + 1, 40));
  });
});

describe('the migration that compacts a log kept before it', () => {
  it('keeps each channel\'s newest vouchers only', () => {
    const dir = tempDir('mqpay-log-upgrade-');
    try {
      const before = MIGRATIONS.findIndex((migration) => migration.includes('PARTITION BY channel ORDER BY seq DESC'));
      expect(before).toBeGreaterThan(0);
      const old = openSqlite(join(dir.path, DATABASE_FILE), { migrations: MIGRATIONS.slice(0, before), what: 'broker database' });
      const nowMs = Date.now();
      old.transaction(() => {
        for (const device of ['van-1', 'dock-1']) addDevice(old, device, generateKeyPair(random).publicKey, nowMs);
        const id = newChannelId(random);
        const num = insertChannel(old, {
          id, payer: 'van-1', payee: 'dock-1', payerWallet: accountKey(old, walletAccount('van-1')), payeeWallet: accountKey(old, walletAccount('dock-1')),
          escrowAccount: ensureAccount(old, escrowAccount(id), 'escrow'), deposit: amountOf(1_000n), expiresAtSeconds: BigInt(Math.floor(nowMs / 1000) + 3_600),
          certificate: new Uint8Array(191), certificateSignature: new Uint8Array(64), nowMs,
        });
        for (let seq = 1n; seq <= 6n; seq++) insertVoucher(old, num, seq, amountOf(seq * 10n), new Uint8Array(64), nowMs);
      })();
      old.close();
      const db = openDatabase(dir.path);
      try {
        expect((db.prepare('SELECT seq FROM vouchers ORDER BY seq').all() as { seq: bigint }[]).map((row) => row.seq)).toEqual([4n, 5n, 6n]);
      } finally {
        db.close();
      }
    } finally {
      dir.remove();
    }
  });
});
