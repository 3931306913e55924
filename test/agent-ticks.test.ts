// Streaming by hash-chain ticks end to end, two agents through a real broker (aedes on loopback,
// SQLite files): `stream()` pays by ticks by default. The payer stores the chain's seed with the
// checkpoint (durably, before publishing it) at a seq taken like a voucher's, then releases
// ticks; the service and the payee each check every tick with one hash, the payee holds the
// highest, and the channel settles to exactly checkpoint + ticks x price, re-verified by the
// ledger check. A voucher after the chain must pay more than it; `vouchers: true` streams by
// signed vouchers and starts no chain.
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { statePathOf } from '../agent/home/home.js';
import { walletAccount } from '../broker/store/accounts.js';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { balanceOf } from '../broker/store/sqlite/ledger.js';
import { amountOf, formatAmount } from '../shared/amount.js';
import { decodeCheckpoint } from '../shared/checkpoint.js';
import { HashChain } from '../shared/hash-chain.js';
import { bytesEqual } from '../shared/hex.js';
import { channelIdFromHex } from '../shared/ids.js';
import { agentBedPerTest, NETWORK_POLL } from './helpers/agent-fixture.js';

const PRICE = 50_000n; // 1 per second, paid every 50 ms: 0.05 a tick

describe('agent: streaming by hash-chain ticks through a real broker', () => {
  const env = agentBedPerTest();

  it('one checkpoint, then ticks checked by the service and the payee; settles to exactly checkpoint + ticks x price', async () => {
    const broker = env.broker();
    const bed = env.bed();
    const carHome = bed.home('car-1', { funds: '10', config: { channel: { deposit: '5' } } });
    const car = await bed.start(carHome);
    const charger = await bed.agent('charger-1');
    const first = await car.pay('charger-1', '0.25');
    expect(first).toMatchObject({ seq: 1n, total: 250_000n });

    const stream = car.stream('charger-1', { amountPerSecond: '1', intervalMs: 50 });
    await expect.poll(() => stream.paid, NETWORK_POLL).toBeGreaterThanOrEqual(300_000n);
    const summary = await stream.stop();
    expect(summary.error).toBeNull();
    expect(summary.paid % PRICE).toBe(0n); // whole ticks
    const ticks = summary.paid / PRICE;
    const total = 250_000n + summary.paid;

    // The service: one chain at the checkpoint's seq (the seq after the voucher's), its highest tick.
    const chain = broker.app.db.prepare('SELECT seq, price, start_total AS start, highest_index AS highest FROM chains').get();
    expect(chain).toEqual({ seq: 2n, price: PRICE, start: 250_000n, highest: ticks });
    expect(getChannel(broker.app.db, channelIdFromHex(first.channel))).toMatchObject({ latestSeq: 2n, latestTotal: total });
    // The payer saw every tick accepted; the payee checked each and holds the highest.
    expect(car.channels().paying[0]).toMatchObject({ signedSeq: '2', signedTotal: formatAmount(amountOf(total)), acceptedTotal: formatAmount(amountOf(total)) });
    await expect.poll(() => charger.channels().paid[0]?.receivedTotal, NETWORK_POLL).toBe(formatAmount(amountOf(total)));

    // The payer stored the chain's own seed with its checkpoint.
    const state = new Database(statePathOf(carHome), { readonly: true, fileMustExist: true });
    try {
      const row = state.prepare('SELECT seq, seed, checkpoint, released_index AS released FROM payer_chains').get() as { seq: number; seed: Buffer; checkpoint: Buffer; released: number };
      expect([row.seq, row.released]).toEqual([2, Number(ticks)]);
      const checkpoint = decodeCheckpoint(new Uint8Array(row.checkpoint));
      expect(bytesEqual(new HashChain(new Uint8Array(row.seed), checkpoint.chainLength).root, checkpoint.chainRoot)).toBe(true);
    } finally {
      state.close();
    }

    // A voucher after the chain takes the next seq and must pay more than the chain did.
    const after = await car.pay('charger-1', '0.1');
    expect(after).toMatchObject({ seq: 3n, total: total + 100_000n });
    await broker.app.service.tick();
    expect(balanceOf(broker.app.db, walletAccount('charger-1'))).toBe(total + 100_000n);
    expect(auditLedger(broker.app.db, { verifySignatures: true }).filter((check) => !check.ok)).toEqual([]);
  });

  it('settles a chain as it stands: exactly checkpoint + ticks x price, evidence re-verified', async () => {
    const broker = env.broker();
    const bed = env.bed();
    const car = await bed.agent('car-2', { funds: '10', config: { channel: { deposit: '5' } } });
    const charger = await bed.agent('charger-2');
    const stream = car.stream('charger-2', { amountPerSecond: '1', intervalMs: 50 });
    await expect.poll(() => stream.paid, NETWORK_POLL).toBeGreaterThanOrEqual(200_000n);
    const { paid } = await stream.stop();
    await expect.poll(() => charger.channels().paid[0]?.receivedTotal, NETWORK_POLL).toBe(formatAmount(paid));
    await broker.app.service.tick();
    expect(balanceOf(broker.app.db, walletAccount('charger-2'))).toBe(paid);
    const evidence = broker.app.db.prepare('SELECT seq, total, tick_index AS ticks FROM settlement_ticks').all();
    expect(evidence).toEqual([{ seq: 1n, total: paid, ticks: paid / PRICE }]);
    expect(auditLedger(broker.app.db, { verifySignatures: true }).filter((check) => !check.ok)).toEqual([]);
  });

  it('with vouchers: true, streams by signed vouchers and starts no chain', async () => {
    const broker = env.broker();
    const bed = env.bed();
    const car = await bed.agent('car-3', { funds: '10' });
    await bed.agent('charger-3');
    const stream = car.stream('charger-3', { amountPerSecond: '1', intervalMs: 50, vouchers: true });
    await expect.poll(() => stream.paid, NETWORK_POLL).toBeGreaterThanOrEqual(150_000n);
    const summary = await stream.stop();
    expect(summary.error).toBeNull();
    expect(broker.app.db.prepare('SELECT COUNT(*) AS n FROM chains').get()).toEqual({ n: 0n });
    expect(BigInt(car.channels().paying[0]?.signedSeq ?? '0')).toBe(BigInt(summary.payments));
  });
});
