// A payer agent streaming hash-chain ticks (stream()'s default), SIGKILLed mid-stream at seeded
// instants, again and again, and restarted each time (issue 13, "both sides crash-safe"). The
// checkpoint takes a seq like a voucher and is durable (seed included) before it is published;
// ticks are written without an fsync, so after a crash the payer adopts the service's total and
// starts a new chain [docs/DESIGN.md rule 5]. Through a real broker (aedes on loopback, SQLite),
// the payer in its own process, the payee in this one. What must hold at every kill and after:
//  - no double-sign evidence for the channel (no seq signed with two totals);
//  - the channel's latest total never decreases, never exceeds the deposit, is always the
//    current chain's checkpoint + highest tick x price, and never exceeds what the payer's own
//    state says it signed (no tick accepted beyond what the restarted payer accounts for);
//  - after each restart the payer's next checkpoint is accepted: a new chain at a higher seq,
//    starting from the service's total, its seq held with that total only;
//  - settlement pays the payee exactly the latest total, and `mqpay ledger check
//    --verify-signatures` exits 0.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { walletAccount } from '../broker/store/accounts.js';
import { findVoucher } from '../broker/store/sqlite/channels.js';
import { balanceOf } from '../broker/store/sqlite/ledger.js';
import { amountOf, formatAmount, parseAmount } from '../shared/amount.js';
import { agentBedPerTest, NETWORK_POLL } from './helpers/agent-fixture.js';
import { buildAgentChild, runAgentChild } from './helpers/agent-child-build.js';
import type { RunningBroker } from './helpers/broker-fixture.js';
import { agentStateValue, doubleSignCount } from './helpers/agent-state-read.js';
import { runCli } from './helpers/ops-cli.js';
import { PowerCut } from './helpers/power-cut.js';
import { seededInt, seededRandom, testSeed } from './helpers/seed.js';

const SEED = testSeed(20_261_204);
const KILLS = 3;
const PRICE = 10_000n; // 1 per second paid every 10 ms (the child's stream): 0.01 a tick
const DEPOSIT = 5_000_000n;
const PROGRESS = { timeout: 15_000, interval: 5 } as const;

interface ServiceView { channel: Uint8Array; latestSeq: bigint; latestTotal: bigint; deposit: bigint; chainSeq: bigint; startTotal: bigint; highest: bigint; price: bigint }

/** The service's view of the one channel and its current chain (null before the first checkpoint). */
function serviceView(broker: RunningBroker): ServiceView | null {
  broker.app.service.flush();
  const row = broker.app.db.prepare(`SELECT c.id, c.latest_seq, c.latest_total, c.deposit, h.seq, h.start_total, h.highest_index, h.price
    FROM channels c JOIN chains h ON h.channel = c.num`).get() as { id: Buffer; latest_seq: bigint; latest_total: bigint; deposit: bigint; seq: bigint; start_total: bigint; highest_index: bigint; price: bigint } | undefined;
  if (row === undefined) return null;
  return {
    channel: new Uint8Array(row.id), latestSeq: row.latest_seq, latestTotal: row.latest_total, deposit: row.deposit,
    chainSeq: row.seq, startTotal: row.start_total, highest: row.highest_index, price: row.price,
  };
}

/** What the payer's own state says it signed on its channel (read after it was killed). */
const payerSignedTotal = (home: string): bigint => agentStateValue(home, 'SELECT max(signed_total) AS n FROM payer_channels');

describe('agent: SIGKILLed while streaming hash-chain ticks, restarted each time', () => {
  const env = agentBedPerTest();
  let script = '';
  beforeAll(async () => {
    script = await buildAgentChild();
  });
  afterAll(() => rmSync(script, { force: true }));

  it(`killed ${KILLS} times at seeded instants (seed ${SEED}; replay with MQPAY_TEST_SEED=${SEED}): each restart starts a new chain at a higher seq, nothing double-signed, settles exactly`, async () => {
    console.log('agent-ticks-crash seed', SEED);
    const broker = env.broker();
    const bed = env.bed();
    const carHome = bed.home('car-t', { funds: '10', config: { channel: { deposit: formatAmount(amountOf(DEPOSIT)) } } });
    const charger = await bed.agent('charger-t');
    const next = seededRandom(SEED);
    let seen = { chainSeq: 0n, latestTotal: 0n };
    // Every look at the service checks the invariants, so a decrease between two looks is caught.
    const look = (): ServiceView | null => {
      const view = serviceView(broker);
      if (view === null) return null;
      expect(view.latestTotal, `seed ${SEED}: the latest total never decreases`).toBeGreaterThanOrEqual(seen.latestTotal);
      expect(view.latestTotal, `seed ${SEED}: never above the deposit`).toBeLessThanOrEqual(view.deposit);
      expect(view.deposit).toBe(DEPOSIT);
      expect(view.latestSeq, `seed ${SEED}: the channel's latest is its chain`).toBe(view.chainSeq);
      expect(view.latestTotal, `seed ${SEED}: latest = checkpoint + highest x price`).toBe(view.startTotal + view.highest * view.price);
      return view;
    };
    /** Waits (on the service's state) for a chain newer than the last one seen, with `ticks` accepted. */
    const newChainWith = async (ticks: number): Promise<ServiceView> => {
      await expect.poll(() => {
        const view = look();
        return view !== null && view.chainSeq > seen.chainSeq && view.highest >= BigInt(ticks);
      }, PROGRESS).toBe(true);
      const view = look() as ServiceView;
      // The new checkpoint starts from the service's total (adopted after the crash), at a seq
      // the service holds with that total only.
      expect(view.price).toBe(PRICE);
      expect(view.startTotal, `seed ${SEED}: the new chain starts from the service's total`).toBeGreaterThanOrEqual(seen.latestTotal);
      expect(findVoucher(broker.app.db, view.channel, view.chainSeq)?.total).toBe(view.startTotal);
      return view;
    };

    for (let kill = 1; kill <= KILLS; kill++) {
      const run = runAgentChild(script, [carHome, broker.url, 'tick-stream', 'charger-t']);
      // A failed assertion must not leave the child streaming on.
      onTestFinished(() => {
        if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
      });
      const ticks = seededInt(next, 3, 40);
      const delayMs = seededInt(next, 0, 30);
      try {
        await newChainWith(ticks);
      } catch (error) {
        throw new Error(`seed ${SEED}, kill ${kill}: no new chain with ${ticks} ticks; child: ${run.lines.join(' | ')}`, { cause: error });
      }
      // Not a synchronisation: the seeded delay is the kill point itself, chosen while the child streams.
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      run.child.kill('SIGKILL');
      expect((await run.exited).signal).toBe('SIGKILL');
      expect(run.lines.filter((line) => line.startsWith('stream ended')), `seed ${SEED}`).toEqual([]);
      const view = look() as ServiceView;
      // Nothing accepted beyond what the payer stored as signed (it stores before it publishes).
      expect(view.latestTotal, `seed ${SEED}, kill ${kill}: accepted beyond the payer's state`).toBeLessThanOrEqual(payerSignedTotal(carHome));
      expect(doubleSignCount(broker), `seed ${SEED}, kill ${kill}`).toBe(0n);
      console.log(`kill ${kill}: ${ticks} ticks + ${delayMs} ms; chain seq ${view.chainSeq}, highest ${view.highest}, latest ${view.latestTotal}`);
      seen = { chainSeq: view.chainSeq, latestTotal: view.latestTotal };
    }

    // Streams once more, in this process, and stops cleanly.
    const car = await bed.start(carHome);
    const stream = car.stream('charger-t', { amountPerSecond: '1', intervalMs: 10 });
    const last = await newChainWith(10);
    const summary = await stream.stop();
    expect(summary.error, `seed ${SEED}`).toBeNull();
    const final = look() as ServiceView;
    expect(final.chainSeq).toBe(last.chainSeq);
    expect(car.channels().paying[0]?.acceptedTotal).toBe(formatAmount(amountOf(final.latestTotal)));
    await expect.poll(() => charger.channels().paid[0]?.receivedTotal, NETWORK_POLL).toBe(formatAmount(amountOf(final.latestTotal)));
    expect(doubleSignCount(broker), `seed ${SEED}`).toBe(0n);

    await broker.app.service.tick();
    expect(balanceOf(broker.app.db, walletAccount('charger-t')), `seed ${SEED}: settles exactly checkpoint + highest x price`).toBe(final.startTotal + final.highest * PRICE);
    const check = await runCli(['ledger', 'check', '--data', broker.dataDir, '--verify-signatures']);
    expect(check.code, `seed ${SEED}: ${check.stdout}${check.stderr}`).toBe(0);
    expect(check.stdout).toMatch(/ledger ok: \d+ checks hold/);
  });
});

// A power cut rather than a kill: the agent loses every write not fsync'd (test/helpers/power-cut.ts
// keeps the state as of each fsync). Ticks are written without one, on both sides.
describe('agent: a power cut while streaming hash-chain ticks', () => {
  const env = agentBedPerTest();
  const PAID = 300_000n;

  it('the payer loses the ticks it released after the checkpoint: it signs no seq twice, reuses no tick index under another checkpoint, and counts on from the service\'s total', async () => {
    const broker = env.broker();
    const bed = env.bed();
    const carHome = bed.home('car-pc', { funds: '10', config: { channel: { deposit: '5' } } });
    const charger = await bed.agent('charger-pc');
    const power = new PowerCut(carHome);
    let car = await bed.start(carHome, { faults: power.faults });
    await car.pay('charger-pc', '0.1'); // opens the channel: seq 1
    const stream = car.stream('charger-pc', { amountPerSecond: '1', intervalMs: 20 });
    await expect.poll(() => stream.paid, NETWORK_POLL).toBeGreaterThanOrEqual(PAID);
    expect((await stream.stop()).error).toBeNull();
    await car.stop();
    const before = serviceView(broker) as ServiceView;
    // What the disk kept: the checkpoint and its seed (fsync'd before it was published), not the ticks after it.
    const kept = power.row<{ seq: bigint; released: bigint; signature: Buffer }>('SELECT seq, released_index AS released, signature FROM payer_chains');
    expect(kept.seq).toBe(before.chainSeq);
    expect(kept.released).toBeLessThan(before.highest);
    expect(power.row<{ n: bigint }>('SELECT max(signed_total) AS n FROM payer_channels').n).toBeLessThan(before.latestTotal);
    power.cut();

    car = await bed.start(carHome);
    const next = await car.pay('charger-pc', '0.05');
    // A seq after the chain's (the chain's seq keeps its one checkpoint), at the service's total plus this payment.
    expect(next.seq).toBeGreaterThan(before.chainSeq);
    expect(next.total).toBe(before.latestTotal + 50_000n);
    const again = car.stream('charger-pc', { amountPerSecond: '1', intervalMs: 20 });
    await expect.poll(() => again.paid, NETWORK_POLL).toBeGreaterThanOrEqual(100_000n);
    expect((await again.stop()).error).toBeNull();
    const after = serviceView(broker) as ServiceView;
    expect(after.chainSeq).toBeGreaterThan(next.seq);
    expect(after.startTotal).toBe(next.total);
    // The service holds, at the lost chain's seq, the checkpoint the payer stored before the cut and no other.
    expect(Buffer.from(findVoucher(broker.app.db, before.channel, before.chainSeq)?.signature ?? [])).toEqual(kept.signature);
    expect(doubleSignCount(broker)).toBe(0n);
    await expect.poll(() => charger.channels().paid[0]?.receivedTotal, NETWORK_POLL).toBe(formatAmount(amountOf(after.latestTotal)));
    await broker.app.service.tick();
    expect(balanceOf(broker.app.db, walletAccount('charger-pc'))).toBe(after.latestTotal);
    const check = await runCli(['ledger', 'check', '--data', broker.dataDir, '--verify-signatures']);
    expect(check.code, `${check.stdout}${check.stderr}`).toBe(0);
  });

  it('the payee loses the ticks it checked after its last fsync: the service, which holds them durably, sends its chain again on reconnect, and settles every tick it accepted', async () => {
    const broker = env.broker();
    const bed = env.bed();
    const chargerHome = bed.home('charger-pp');
    const power = new PowerCut(chargerHome);
    let charger = await bed.start(chargerHome, { faults: power.faults });
    const car = await bed.agent('car-pp', { funds: '10', config: { channel: { deposit: '5' } } });
    await car.pay('charger-pp', '0.1');
    const stream = car.stream('charger-pp', { amountPerSecond: '1', intervalMs: 20 });
    await expect.poll(() => stream.paid, NETWORK_POLL).toBeGreaterThanOrEqual(PAID);
    const view = serviceView(broker) as ServiceView;
    await expect.poll(() => parseAmount(charger.channels().paid[0]?.receivedTotal ?? '0'), NETWORK_POLL).toBeGreaterThanOrEqual(view.latestTotal);
    await charger.stop();
    // The disk kept less than the payee had checked (its ticks are written without an fsync).
    const kept = power.row<{ n: bigint | null }>('SELECT max(highest_index) AS n FROM payee_chains').n ?? 0n;
    expect(kept).toBeLessThan(view.highest);
    power.cut();

    const paidAtCut = stream.paid;
    charger = await bed.start(chargerHome);
    // The payer streams on, on the same chain; the payee holds it again, and every tick since.
    await expect.poll(() => stream.paid, NETWORK_POLL).toBeGreaterThanOrEqual(paidAtCut + 100_000n);
    expect((await stream.stop()).error).toBeNull();
    const final = serviceView(broker) as ServiceView;
    expect(final.chainSeq).toBe(view.chainSeq);
    await expect.poll(() => charger.channels().paid[0]?.receivedTotal, NETWORK_POLL).toBe(formatAmount(amountOf(final.latestTotal)));
    await broker.app.service.tick();
    expect(balanceOf(broker.app.db, walletAccount('charger-pp'))).toBe(final.latestTotal);
  });
});
