// The settlement service runs unchanged on the PostgreSQL store: the broker (aedes on loopback,
// real MQTT.js devices) with its store port given the PostgreSQL adapter instead of SQLite.
// Devices are enrolled and funded through the service, a channel is opened over RPC, vouchers go
// through handleOutbox as binary frames and are accepted, an epoch settles them with its fee, and
// the PostgreSQL audit, signatures re-verified, holds.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { walletAccount } from '../broker/store/accounts.js';
import { auditPostgres } from '../broker/store/postgres/audit.js';
import { openPostgresLedger, type PostgresLedger } from '../broker/store/postgres/open.js';
import { parseAmount, type Amount } from '../shared/amount.js';
import { generateKeyPair } from '../shared/keys.js';
import { openChannel, payVoucher, random, settledResult, signedVoucher, startBroker, type RunningBroker } from './helpers/broker-fixture.js';
import { POSTGRES_MISSING, postgresPerTest } from './helpers/postgres.js';
import { failedChecks } from './helpers/store-ledgers.js';

describe.skipIf(POSTGRES_MISSING !== null)(`settlement service over the PostgreSQL store${POSTGRES_MISSING === null ? '' : ` (skipped: ${POSTGRES_MISSING})`}`, () => {
  const database = postgresPerTest();
  let ledger: PostgresLedger;
  let broker: RunningBroker;
  // As a cluster worker runs it: the store is shared with other processes (docs/DESIGN.md rule 16).
  const storeShared = (name: string): boolean => name.includes('back to back');
  beforeEach(async (context) => {
    ledger = await openPostgresLedger(database.url());
    broker = await startBroker({ feePpm: 10_000 }, undefined, { store: () => ledger.store, storeShared: storeShared(context.task.name) });
  });
  afterEach(async () => {
    await broker.stop();
    await ledger.close();
  });

  it('opens a channel, accepts vouchers through handleOutbox, settles an epoch with its fee, and audits clean', async () => {
    const service = broker.app.service;
    const payerKeys = generateKeyPair(random);
    const payeeKeys = generateKeyPair(random);
    await service.enrol('car-1', payerKeys.publicKey);
    await service.enrol('charger.1', payeeKeys.publicKey);
    expect((await service.fund('car-1', parseAmount('10'), 'fund-car-1')).kind).toBe('funded');
    expect((await service.fund('car-1', parseAmount('10'), 'fund-car-1')).kind).toBe('already');
    const car = await broker.link('car-1', payerKeys);
    await broker.link('charger.1', payeeKeys);
    const channelId = await openChannel(car, 'charger.1', '2.5');
    expect(await ledger.store.reads.balance(walletAccount('car-1'))).toBe(7_500_000n);
    // Twenty vouchers, the last at 1.234567: every one accepted and stored in PostgreSQL.
    for (let seq = 1n; seq <= 20n; seq++) {
      const total = (seq === 20n ? 1_234_567n : seq * 50_000n) as Amount;
      const verdict = await payVoucher(car, signedVoucher(payerKeys, { channelId, seq, total }));
      expect(verdict.type).toBe('voucher.accepted');
    }
    const stale = await payVoucher(car, signedVoucher(payerKeys, { channelId, seq: 3n, total: 999_999n as Amount }));
    expect(stale.type).toBe('voucher.rejected');
    const channel = await ledger.store.reads.channel(channelId);
    expect([channel?.latestSeq, channel?.latestTotal]).toEqual([20n, 1_234_567n]);
    // 1% fee: floor(1,234,567 / 100) = 12,345.
    const result = await settledResult(service.settleNow());
    expect([result.amount, result.fee, result.channelCount]).toEqual([1_234_567n, 12_345n, 1]);
    expect(await ledger.store.reads.balance(walletAccount('charger.1'))).toBe(1_222_222n);
    expect(await ledger.store.reads.balance('fees')).toBe(12_345n);
    expect((await service.settleNow()).kind).toBe('nothing');
    expect(failedChecks(await auditPostgres(ledger.pool, { verifySignatures: true }))).toEqual([]);
  });

  it('accepts every one of a payer\'s vouchers sent back to back (a shared store judges a channel\'s vouchers in order)', async () => {
    const service = broker.app.service;
    const payerKeys = generateKeyPair(random);
    const payeeKeys = generateKeyPair(random);
    await service.enrol('car-2', payerKeys.publicKey);
    await service.enrol('charger-2', payeeKeys.publicKey);
    await service.fund('car-2', parseAmount('10'), 'fund-car-2');
    const car = await broker.link('car-2', payerKeys);
    await broker.link('charger-2', payeeKeys);
    const channelId = await openChannel(car, 'charger-2', '2');
    // Sixty vouchers published without waiting for any verdict: the pool answers their reads in
    // any order, and before the fix about a fifth were refused VOUCHER_SEQ_NOT_INCREASING.
    const verdicts = await Promise.all(Array.from({ length: 60 }, (_, i) => payVoucher(car, signedVoucher(payerKeys, { channelId, seq: BigInt(i + 1), total: BigInt((i + 1) * 1_000) as Amount }))));
    expect(verdicts.filter((verdict) => verdict.type !== 'voucher.accepted')).toEqual([]);
    const channel = await ledger.store.reads.channel(channelId);
    expect([channel?.latestSeq, channel?.latestTotal]).toEqual([60n, 60_000n]);
    expect(failedChecks(await auditPostgres(ledger.pool, { verifySignatures: true }))).toEqual([]);
  });
});
