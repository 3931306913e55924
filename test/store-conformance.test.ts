// The store port's conformance suite: the SAME scenarios against both adapters, a SQLite file and
// a PostgreSQL database, through the port only (plus raw SQL where the database itself must
// refuse). What one adapter guarantees, the other must: exact settlement amounts and fees,
// exactly-once vouchers and request ids, idempotent keyed transfers, bounded evidence, epochs
// counted in the database, a batch whose failing write is rolled back alone, immutable
// transfers, and an audit that holds after all of it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MqpayError } from '../shared/errors.js';
import type { Amount } from '../shared/amount.js';
import type { Store } from '../broker/store/port.js';
import { walletAccount } from '../broker/store/accounts.js';
import { DOUBLE_SIGN_EVIDENCE_PER_CHANNEL_MAX } from '../broker/limits.js';
import { testSeed } from './helpers/seed.js';
import { POSTGRES_MISSING, postgresPerTest } from './helpers/postgres.js';
import {
  enrol, failedChecks, NOW_MS, openChannelIn, openPostgresTestLedger, openSqliteLedger, seededBytes, voucherWrite, type Ledger,
} from './helpers/store-ledgers.js';

const SEED = testSeed(15);
const micro = (units: number): Amount => BigInt(units * 1_000_000) as Amount;

const codeOf = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
  } catch (error) {
    return error instanceof MqpayError ? error.code : `raw: ${(error as Error).message}`;
  }
  return 'resolved';
};

function scenarios(open: () => Promise<Ledger>): void {
  let ledger: Ledger;
  let store: Store;
  let random: (length: number) => Uint8Array;
  beforeEach(async () => {
    ledger = await open();
    store = ledger.store;
    random = seededBytes(SEED);
  });
  afterEach(async () => {
    await ledger.close();
  });

  it('enrols devices once, keeps each connect-token time rising, and rotates keys never reused', async () => {
    await enrol(store, random, 'alice');
    expect(await codeOf(enrol(store, random, 'alice'))).toBe('DEVICE_EXISTS');
    const alice = await store.reads.device('alice');
    expect(alice?.status).toBe('active');
    expect(await store.reads.balance(walletAccount('alice'))).toBe(0n);
    expect(await store.transaction((tx) => tx.useTokenTime('alice', 1_000n))).toBe(true);
    expect(await store.transaction((tx) => tx.useTokenTime('alice', 1_000n))).toBe(false);
    expect(await store.transaction((tx) => tx.useTokenTime('alice', 999n))).toBe(false);
    expect(await store.transaction((tx) => tx.useTokenTime('alice', 1_001n))).toBe(true);
    expect(await codeOf(store.transaction((tx) => tx.setDeviceStatus('nobody', 'disabled')))).toBe('DEVICE_UNKNOWN');
    const next = seededBytes(SEED + 1);
    const { generateKeyPair } = await import('../shared/keys.js');
    const fresh = generateKeyPair(next).publicKey;
    await store.transaction((tx) => tx.replaceDeviceKey('alice', alice!.publicKey, fresh, NOW_MS + 1));
    expect((await store.reads.device('alice'))?.publicKey).toEqual(fresh);
    expect(await store.reads.retiredKeysOf('alice', 10)).toEqual([alice!.publicKey]);
    expect(await store.reads.keyHolder(alice!.publicKey)).toBe('alice');
    expect(await codeOf(store.transaction((tx) => tx.replaceDeviceKey('alice', fresh, alice!.publicKey, NOW_MS + 2)))).toBe('KEY_REUSED');
    expect(await codeOf(store.transaction((tx) => tx.replaceDeviceKey('alice', alice!.publicKey, generateKeyPair(next).publicKey, NOW_MS + 2)))).toBe('KEY_ROTATION_INVALID');
    expect(failedChecks(await ledger.audit())).toEqual([]);
  });

  it('runs a channel from open through vouchers, receipts and an epoch to its close, to the micro-unit', async () => {
    await enrol(store, random, 'payer', micro(100));
    await enrol(store, random, 'payee');
    const channel = await store.transaction((tx) => openChannelIn(tx, random, 'payer', 'payee', micro(10)));
    expect(await store.reads.balance(walletAccount('payer'))).toBe(micro(90));
    // Four vouchers: the log keeps the newest three; an old seq moves nothing.
    for (const [seq, total] of [[1n, 1_000_000n], [2n, 2_500_000n], [3n, 3_000_001n], [4n, 4_123_457n]] as const) {
      await store.transaction(voucherWrite(random, channel.num, seq, total));
    }
    expect(await store.reads.voucherAt(channel.id, 1n)).toBeNull();
    expect((await store.reads.voucherAt(channel.id, 4n))?.total).toBe(4_123_457n);
    expect(await codeOf(store.transaction(voucherWrite(random, channel.num, 4n, 4_200_000n)))).not.toBe('resolved');
    expect(await codeOf(store.transaction(voucherWrite(random, channel.num, 3n, 4_200_000n)))).not.toBe('resolved');
    await store.transaction((tx) => tx.storeReceipt({ channel: channel.num, seq: 4n, total: 4_123_457n as Amount, signature: random(64), nowMs: NOW_MS }));
    await store.transaction((tx) => tx.storeReceipt({ channel: channel.num, seq: 2n, total: 2_500_000n as Amount, signature: random(64), nowMs: NOW_MS }));
    expect((await store.reads.latestReceiptsOfPayer('payer', 10)).map((receipt) => receipt.seq)).toEqual([4n]);
    // An epoch at 1.5% (15,000 ppm): fee floor(4,123,457 * 0.015) = 61,851.
    const epoch = await store.transaction(async (tx) => tx.settle({ id: `epoch-${await tx.nextEpoch()}`, reason: 'epoch', nowMs: NOW_MS, feePpm: 15_000 }));
    expect(epoch.kind).toBe('settled');
    if (epoch.kind !== 'settled') return;
    expect(epoch.result.id).toBe('epoch-1');
    expect([epoch.result.amount, epoch.result.fee, epoch.result.channelCount]).toEqual([4_123_457n, 61_851n, 1]);
    expect(Object.fromEntries(epoch.result.lines)).toEqual({ fees: 61_851n, [walletAccount('payee')]: 4_061_606n });
    expect(await store.reads.balance(walletAccount('payee'))).toBe(4_061_606n);
    const page = await store.reads.settlementChannels('epoch-1', 0n, 10);
    expect(page.channels.map((line) => [line.amount, line.fee, line.settledTotal])).toEqual([[4_123_457n, 61_851n, 4_123_457n]]);
    expect((await store.transaction((tx) => tx.settle({ id: 'epoch-1', reason: 'epoch', nowMs: NOW_MS, feePpm: 0 }))).kind).toBe('already');
    expect((await store.transaction((tx) => tx.settle({ id: 'epoch-x', reason: 'epoch', nowMs: NOW_MS, feePpm: 0 }))).kind).toBe('nothing');
    // The payer closes: a dispute window; the payer's voucher is refused there, the payee's redemption counts.
    await store.transaction((tx) => tx.markChannelClosing(channel.num, 'payer', NOW_MS, NOW_MS + 60_000));
    expect((await store.reads.channel(channel.id))?.state).toBe('closing');
    expect(await codeOf(store.transaction(voucherWrite(random, channel.num, 5n, 5_000_000n)))).toBe('CHANNEL_CLOSING');
    await store.transaction(voucherWrite(random, channel.num, 5n, 5_000_000n, true));
    expect((await store.reads.dueClosingChannels(NOW_MS + 60_000, 10)).map((row) => row.num)).toEqual([channel.num]);
    await store.transaction(async (tx) => {
      const closed = await tx.settle({ id: 'close-1', reason: 'close', nowMs: NOW_MS, feePpm: 0, only: channel.num });
      expect(closed.kind === 'settled' && closed.result.amount).toBe(876_543n);
      await tx.insertTransfer({ id: 'refund:1', from: `escrow:${Buffer.from(channel.id).toString('hex')}`, to: walletAccount('payer'), amount: micro(5), kind: 'refund', channel: channel.num, nowMs: NOW_MS });
      await tx.markChannelClosed(channel.num, 'payee', NOW_MS);
    });
    const closed = await store.reads.channel(channel.id);
    expect([closed?.state, closed?.closeRequestedBy, closed?.settledTotal]).toEqual(['closed', 'payer', 5_000_000n]);
    expect(await codeOf(store.transaction(voucherWrite(random, channel.num, 6n, 6_000_000n)))).toBe('CHANNEL_CLOSED');
    expect(await store.reads.balance(walletAccount('payer'))).toBe(micro(95));
    expect(await store.reads.balance('fees')).toBe(61_851n);
    expect(failedChecks(await ledger.audit())).toEqual([]);
  });

  it('keeps a hash chain: checkpoint, rising ticks, a stale tick refused, settled with its evidence', async () => {
    await enrol(store, random, 'payer', micro(100));
    await enrol(store, random, 'payee');
    const channel = await store.transaction((tx) => openChannelIn(tx, random, 'payer', 'payee', micro(10)));
    const root = random(32);
    await store.batch([(tx) => tx.appendCheckpoint({ channel: channel.num, seq: 1n, total: 1_000n as Amount, checkpoint: random(109), signature: random(64), root, chainLength: 100, pricePerTick: 10n as Amount, nowMs: NOW_MS })]);
    expect((await store.reads.chainOf(channel.id))?.highestLink).toEqual(root);
    const [first, stale] = await store.batch([
      (tx) => tx.appendTick({ channel: channel.num, seq: 1n, index: 5, link: random(32), total: 1_050n as Amount }),
      (tx) => tx.appendTick({ channel: channel.num, seq: 1n, index: 4, link: random(32), total: 1_040n as Amount }),
    ]);
    expect(first?.ok).toBe(true);
    expect(stale?.ok === false && stale.error instanceof MqpayError ? stale.error.code : 'none').toBe('TICK_CHECKPOINT_UNKNOWN');
    const chain = await store.reads.chainOf(channel.id);
    expect([chain?.highestIndex, (await store.reads.channel(channel.id))?.latestTotal]).toEqual([5, 1_050n]);
    const settled = await store.transaction((tx) => tx.settle({ id: 'manual-1', reason: 'manual', nowMs: NOW_MS, feePpm: 0 }));
    expect(settled.kind === 'settled' && settled.result.amount).toBe(1_050n);
    expect(failedChecks(await ledger.audit())).toEqual([]);
  });

  it('bounds double-sign evidence per channel and counts it on the channel', async () => {
    await enrol(store, random, 'payer', micro(10));
    await enrol(store, random, 'payee');
    const channel = await store.transaction((tx) => openChannelIn(tx, random, 'payer', 'payee', micro(1)));
    const evidence = (conflicting: bigint) => ({ channel: channel.id, seq: 1n, acceptedTotal: 10n as Amount, conflictingTotal: conflicting as Amount, voucher: random(82), signature: random(64), nowMs: NOW_MS });
    const kept: boolean[] = [];
    for (let index = 0; index <= DOUBLE_SIGN_EVIDENCE_PER_CHANNEL_MAX; index++) kept.push(await store.transaction((tx) => tx.recordDoubleSign(evidence(BigInt(20 + index)))));
    expect(kept).toEqual([...Array(DOUBLE_SIGN_EVIDENCE_PER_CHANNEL_MAX).fill(true), false]);
    expect(await store.reads.doubleSignCount(channel.id)).toBe(DOUBLE_SIGN_EVIDENCE_PER_CHANNEL_MAX);
    expect((await store.reads.channel(channel.id))?.doubleSigns).toBe(DOUBLE_SIGN_EVIDENCE_PER_CHANNEL_MAX);
  });

  it('funds, pays out and moves once per key, refusing conflicts and overdrafts', async () => {
    await enrol(store, random, 'a');
    await enrol(store, random, 'b');
    const fund = (key: string, amount: Amount, device = 'a') => store.transaction((tx) => tx.fund({ device, amount, key, nowMs: NOW_MS }));
    expect(await fund('k1', micro(5))).toEqual({ kind: 'funded', balance: micro(5) });
    expect(await fund('k1', micro(5))).toEqual({ kind: 'already', balance: micro(5) });
    expect(await codeOf(fund('k1', micro(6)))).toBe('IDEMPOTENCY_CONFLICT');
    expect(await codeOf(fund('k1', micro(5), 'b'))).toBe('IDEMPOTENCY_CONFLICT');
    expect(await codeOf(fund('k2', micro(1), 'ghost'))).toBe('DEVICE_UNKNOWN');
    const move = (key: string, amount: Amount) => store.transaction((tx) => tx.move({ fromDevice: 'a', toDevice: 'b', amount, key, nowMs: NOW_MS }));
    expect(await move('m1', micro(2))).toMatchObject({ kind: 'moved', balance: micro(3) });
    expect(await move('m1', micro(2))).toMatchObject({ kind: 'already', balance: micro(3) });
    expect(await codeOf(move('m2', micro(4)))).toBe('INSUFFICIENT_FUNDS');
    const payout = (key: string, amount: Amount) => store.transaction((tx) => tx.payout({ from: walletAccount('b'), amount, key, nowMs: NOW_MS }));
    expect(await payout('p1', micro(2))).toMatchObject({ kind: 'moved', balance: 0n });
    expect(await payout('p1', micro(2))).toMatchObject({ kind: 'already' });
    expect(await codeOf(payout('p2', 1n as Amount))).toBe('INSUFFICIENT_FUNDS');
    expect(await codeOf(payout('m1', micro(1)))).not.toBe('resolved');
    // The database refuses a balance below zero even when asked directly.
    expect(await codeOf(store.transaction((tx) => tx.insertTransfer({ id: 'raw-overdraft', from: walletAccount('a'), to: walletAccount('b'), amount: micro(4), kind: 'move', nowMs: NOW_MS })))).toMatch(/^raw: .*(CHECK|check)/);
    expect([await store.reads.balance(walletAccount('a')), await store.reads.balance(walletAccount('b')), await store.reads.balance('external')]).toEqual([micro(3), 0n, -micro(3)]);
    expect(failedChecks(await ledger.audit())).toEqual([]);
  });

  it('keeps limits with their allow-list, and spend buckets that add up per minute', async () => {
    await enrol(store, random, 'a');
    expect(await store.reads.deviceLimits('a')).toEqual({ maxPerPayment: null, maxPerHour: null, maxPerDay: null, allowPayees: null });
    const limits = { maxPerPayment: micro(1), maxPerHour: null, maxPerDay: micro(50), allowPayees: ['shop', 'cafe.2'] };
    await store.transaction((tx) => tx.setDeviceLimits('a', limits, NOW_MS));
    expect(await store.reads.deviceLimits('a')).toEqual(limits);
    await store.transaction((tx) => tx.setDeviceLimits('a', { ...limits, allowPayees: null }, NOW_MS));
    expect((await store.reads.deviceLimits('a')).allowPayees).toBeNull();
    expect(await codeOf(store.transaction((tx) => tx.setDeviceLimits('ghost', limits, NOW_MS)))).toBe('DEVICE_UNKNOWN');
    await store.batch([(tx) => tx.addSpend('a', 100, 5n as Amount), (tx) => tx.addSpend('a', 100, 7n as Amount), (tx) => tx.addSpend('a', 101, 1n as Amount), (tx) => tx.addSpend('a', 50, 1n as Amount)]);
    expect(await store.reads.spendBuckets('a', 100)).toEqual([{ minute: 100, amount: 12n }, { minute: 101, amount: 1n }]);
    expect(await store.transaction((tx) => tx.pruneSpend(100))).toBe(1);
  });

  it('stores offers newest first, serves active sellers in order a page at a time, sweeps expired ones', async () => {
    for (const seller of ['s1', 's2', 's3']) await enrol(store, random, seller);
    const offer = (seller: string, issuedAtMs: bigint, expiresAtSeconds: bigint) => ({ seller, offer: random(86), signature: random(64), issuedAtMs, expiresAtSeconds, storedAtMs: NOW_MS });
    expect(await store.transaction((tx) => tx.putOffer(offer('s1', 10n, 500n)))).toBe(true);
    expect(await store.transaction((tx) => tx.putOffer(offer('s1', 10n, 900n)))).toBe(false);
    expect(await store.transaction((tx) => tx.putOffer(offer('s1', 11n, 900n)))).toBe(true);
    await store.transaction((tx) => tx.putOffer(offer('s2', 1n, 900n)));
    await store.transaction((tx) => tx.putOffer(offer('s3', 1n, 100n)));
    expect((await store.reads.offerOf('s1'))?.expiresAtSeconds).toBe(900n);
    expect((await store.reads.currentOffers(200n, '', 1)).map((o) => o.seller)).toEqual(['s1']);
    expect((await store.reads.currentOffers(200n, 's1', 10)).map((o) => o.seller)).toEqual(['s2']);
    await store.transaction((tx) => tx.setDeviceStatus('s2', 'disabled'));
    expect((await store.reads.currentOffers(200n, '', 10)).map((o) => o.seller)).toEqual(['s1']);
    expect(await store.transaction((tx) => tx.deleteExpiredOffers(200n, 10))).toEqual(['s3']);
  });

  it('stores one answer per request id, keeping a bounded few per device', async () => {
    await enrol(store, random, 'a');
    for (let index = 0; index < 4; index++) {
      await store.transaction((tx) => tx.storeAnswer('a', `r${index}`, 'channel.view', { digest: `d${index}`, response: `{"n":${index}}` }, NOW_MS + index, 3));
    }
    expect(await store.reads.storedAnswer('a', 'r0')).toBeNull();
    expect(await store.reads.storedAnswer('a', 'r3')).toEqual({ digest: 'd3', response: '{"n":3}' });
    expect(await codeOf(store.transaction((tx) => tx.storeAnswer('a', 'r3', 'channel.view', { digest: 'd3', response: '{}' }, NOW_MS + 9, 3)))).not.toBe('resolved');
    expect(await store.reads.storedAnswer('a', 'r3')).toEqual({ digest: 'd3', response: '{"n":3}' });
  });

  it('numbers epochs in the database: a rolled-back epoch gives its number back', async () => {
    expect(await store.transaction((tx) => tx.nextEpoch())).toBe(1n);
    await expect(store.transaction(async (tx) => {
      expect(await tx.nextEpoch()).toBe(2n);
      throw new Error('crash before commit');
    })).rejects.toThrow('crash before commit');
    expect(await store.transaction((tx) => tx.nextEpoch())).toBe(2n);
    expect(await store.transaction((tx) => tx.nextEpoch())).toBe(3n);
    expect(await store.reads.ledgerCurrency()).toBe('EUR');
    expect(await store.reads.restoreRecord()).toBeNull();
    expect(await store.transaction((tx) => tx.recordHeal({ created: false, amount: 1n as Amount }))).toBe(false);
  });

  it('rolls back only the failing write of a batch', async () => {
    await enrol(store, random, 'payer', micro(10));
    await enrol(store, random, 'payee');
    const channel = await store.transaction((tx) => openChannelIn(tx, random, 'payer', 'payee', micro(1)));
    const outcomes = await store.batch([
      async (tx) => {
        await voucherWrite(random, channel.num, 1n, 100n)(tx);
        await tx.addSpend('payer', 7, 100n as Amount);
        return 'first';
      },
      async (tx) => {
        await tx.addSpend('payer', 7, 1_000n as Amount);
        await voucherWrite(random, channel.num, 1n, 200n)(tx);
        return 'stale';
      },
      async (tx) => {
        await voucherWrite(random, channel.num, 2n, 300n)(tx);
        return 'third';
      },
    ]);
    expect(outcomes.map((outcome) => (outcome.ok ? outcome.value : 'failed'))).toEqual(['first', 'failed', 'third']);
    expect((await store.reads.channel(channel.id))?.latestTotal).toBe(300n);
    expect((await store.reads.voucherAt(channel.id, 1n))?.total).toBe(100n);
    expect(await store.reads.spendBuckets('payer', 0)).toEqual([{ minute: 7, amount: 100n }]);
    expect(failedChecks(await ledger.audit())).toEqual([]);
  });

  it('refuses to update or delete a transfer, and the audit catches a balance edited behind the ledger', async () => {
    await enrol(store, random, 'a', micro(5));
    await expect(ledger.raw("UPDATE transfers SET amount = 1 WHERE id = 'fund:enrol-a'")).rejects.toThrow(/immutable/);
    await expect(ledger.raw("DELETE FROM transfers WHERE id = 'fund:enrol-a'")).rejects.toThrow(/immutable/);
    expect(failedChecks(await ledger.audit())).toEqual([]);
    await ledger.raw("UPDATE accounts SET balance = balance + 1 WHERE name = 'wallet:a'");
    const failed = failedChecks(await ledger.audit());
    expect(failed.some((line) => line.startsWith('balances equal the sum of their transfers: wallet:a: found 5000001, expected 5000000'))).toBe(true);
    expect(failed.some((line) => line.startsWith('all accounts sum to zero'))).toBe(true);
  });
}

describe('store conformance: SQLite', () => {
  scenarios(async () => openSqliteLedger());
});

describe.skipIf(POSTGRES_MISSING !== null)(`store conformance: PostgreSQL${POSTGRES_MISSING === null ? '' : ` (skipped: ${POSTGRES_MISSING})`}`, () => {
  const database = postgresPerTest();
  scenarios(() => openPostgresTestLedger(database.url()));
});
