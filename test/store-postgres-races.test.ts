// What the PostgreSQL store must get from locks, since several workers write one ledger at once
// (broker/store/postgres/store.ts): two workers (two pools) racing on one channel, in units of
// work (SERIALIZABLE, retried) and in group commits (READ COMMITTED, conditional UPDATEs); many
// fundings of one wallet at once; an epoch holding voucher writers off; and two processes racing
// for the settlement leader's advisory lock. Each race is forced, not hoped for: a transaction
// is held open until the other one is seen waiting on its lock in pg_stat_activity.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { MqpayError } from '../shared/errors.js';
import type { Amount } from '../shared/amount.js';
import type { StoreTx } from '../broker/store/port.js';
import { walletAccount } from '../broker/store/accounts.js';
import { tryAcquireSettlementLeader } from '../broker/store/postgres/leader.js';
import { postgresStore } from '../broker/store/postgres/store.js';
import { testSeed } from './helpers/seed.js';
import { POSTGRES_MISSING, postgresPerTest } from './helpers/postgres.js';
import { buildLeaderChild, runLeaderChild } from './helpers/leader-child-build.js';
import { enrol, failedChecks, NOW_MS, openChannelIn, openPostgresTestLedger, seededBytes, voucherWrite } from './helpers/store-ledgers.js';

const SEED = testSeed(1515);

function gate(): { wait: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/** Bound of the wait for the other side of a race to block: past it, the race did not happen. */
const BLOCKED_WITHIN_MS = 10_000;

/**
 * Resolves once some session of this database waits on a lock (the other side of a forced race),
 * then opens `held` either way, so a failed wait never leaves the holding transaction open.
 */
async function someoneBlocked(pool: pg.Pool, held: { open: () => void }): Promise<void> {
  const startedMs = Date.now();
  try {
    for (;;) {
      const { rows } = await pool.query<{ n: bigint }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
      if ((rows[0]?.n ?? 0n) > 0n) return;
      if (Date.now() - startedMs > BLOCKED_WITHIN_MS) throw new Error(`no session waited on a lock within ${BLOCKED_WITHIN_MS} ms: the race was not forced`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    held.open();
  }
}

describe.skipIf(POSTGRES_MISSING !== null)(`PostgreSQL store races${POSTGRES_MISSING === null ? '' : ` (skipped: ${POSTGRES_MISSING})`}`, () => {
  const database = postgresPerTest();
  let one: Awaited<ReturnType<typeof openPostgresTestLedger>>;
  let two: Awaited<ReturnType<typeof openPostgresTestLedger>>;
  const random = seededBytes(SEED);
  beforeEach(async () => {
    one = await openPostgresTestLedger(database.url());
    two = await openPostgresTestLedger(database.url());
  });
  afterEach(async () => {
    await Promise.all([one.close(), two.close()]);
  });

  async function channelOf(): Promise<{ id: Uint8Array; num: bigint }> {
    await enrol(one.store, random, 'payer', 100_000_000n as Amount);
    await enrol(one.store, random, 'payee');
    return one.store.transaction((tx) => openChannelIn(tx, random, 'payer', 'payee', 10_000_000n as Amount));
  }

  it('two top-ups of one channel at once: the later one is aborted, run again on the new row, and no increase is lost', async () => {
    const channel = await channelOf();
    const conflicts: string[] = [];
    const retrying = postgresStore(two.pool, { onConflict: (conflict) => conflicts.push(conflict.code) });
    const wrote = gate();
    const held = gate();
    // Each raises the deposit it read by 1.000000 at the next revision; the first holds its transaction open after writing.
    const topUp = (hold: boolean) => async (tx: StoreTx) => {
      const row = await tx.channel(channel.id);
      const revision = row!.revision + 1;
      await tx.updateChannelDeposit(channel.num, (row!.deposit + 1_000_000n) as Amount, revision, random(120), random(64));
      await tx.insertTransfer({ id: `topup:${revision}`, from: walletAccount('payer'), to: `escrow:${Buffer.from(channel.id).toString('hex')}`, amount: 1_000_000n as Amount, kind: 'topup', channel: channel.num, nowMs: NOW_MS });
      if (hold) {
        wrote.open();
        await held.wait;
      }
      return revision;
    };
    const first = one.store.transaction(topUp(true));
    await wrote.wait;
    const second = retrying.transaction(topUp(false));
    await someoneBlocked(one.pool, held);
    expect([await first, await second]).toEqual([2, 3]);
    expect(conflicts).toContain('40001');
    expect((await one.store.reads.channel(channel.id))?.deposit).toBe(12_000_000n);
    expect(failedChecks(await one.audit())).toEqual([]);
  });

  it('two units of work claiming the same seq: exactly one wins', async () => {
    const channel = await channelOf();
    const wrote = gate();
    const held = gate();
    const claim = (total: bigint, hold: boolean) => async (tx: StoreTx) => {
      await voucherWrite(random, channel.num, 1n, total)(tx);
      if (hold) {
        wrote.open();
        await held.wait;
      }
    };
    const first = one.store.transaction(claim(100n, true));
    await wrote.wait;
    const second = two.store.transaction(claim(200n, false));
    await someoneBlocked(one.pool, held);
    const results = await Promise.allSettled([first, second]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected']);
    expect((await one.store.reads.channel(channel.id))?.latestTotal).toBe(100n);
  });

  it('two group commits racing on one channel: the conditional UPDATE is judged again on the newest row, never moving it back', async () => {
    const channel = await channelOf();
    const wrote = gate();
    const held = gate();
    const ahead = one.store.batch([async (tx) => {
      await voucherWrite(random, channel.num, 2n, 200n)(tx);
      wrote.open();
      await held.wait;
    }]);
    await wrote.wait;
    const behind = two.store.batch([voucherWrite(random, channel.num, 1n, 100n), (tx) => tx.addSpend('payer', 1, 5n as Amount)]);
    await someoneBlocked(one.pool, held);
    const [aheadOutcomes, behindOutcomes] = await Promise.all([ahead, behind]);
    expect(aheadOutcomes.map((outcome) => outcome.ok)).toEqual([true]);
    const [stale, spend] = behindOutcomes;
    expect(stale?.ok === false && stale.error instanceof MqpayError ? stale.error.code : 'none').toBe('VOUCHER_SEQ_NOT_INCREASING');
    expect(spend?.ok).toBe(true);
    const row = await one.store.reads.channel(channel.id);
    expect([row?.latestSeq, row?.latestTotal]).toEqual([2n, 200n]);
    expect(failedChecks(await one.audit())).toEqual([]);
  });

  it('fundings of one wallet from two workers at once all count, and one key funds once', async () => {
    await enrol(one.store, random, 'w');
    const fund = (store: typeof one.store, key: string) => store.transaction((tx) => tx.fund({ device: 'w', amount: 1_000_000n as Amount, key, nowMs: NOW_MS }));
    // Each worker runs its units of work one after another (its write queue); the two overlap.
    const worker = async (store: typeof one.store, name: string) => {
      const outcomes = [];
      for (let index = 0; index < 10; index++) outcomes.push(await fund(store, `${name}-${index}`));
      outcomes.push(await fund(store, 'twin'));
      return outcomes;
    };
    const outcomes = (await Promise.all([worker(one.store, 'one'), worker(two.store, 'two')])).flat();
    expect(outcomes.filter((outcome) => outcome.kind === 'funded')).toHaveLength(21);
    expect(outcomes.filter((outcome) => outcome.kind === 'already')).toHaveLength(1);
    expect(await one.store.reads.balance(walletAccount('w'))).toBe(21_000_000n);
    expect(failedChecks(await one.audit())).toEqual([]);
  });

  it('an epoch holds voucher writers off until it commits, and is never aborted by them', async () => {
    const channel = await channelOf();
    await one.store.batch([voucherWrite(random, channel.num, 1n, 1_000n)]);
    const conflicts: string[] = [];
    const leaderStore = postgresStore(one.pool, { onConflict: (conflict) => conflicts.push(conflict.code) });
    const locked = gate();
    const held = gate();
    const epoch = leaderStore.transaction(async (tx) => {
      const number = await tx.nextEpoch();
      locked.open();
      await held.wait;
      return tx.settle({ id: `epoch-${number}`, reason: 'epoch', nowMs: NOW_MS, feePpm: 0 });
    });
    await locked.wait;
    const voucher = two.store.batch([voucherWrite(random, channel.num, 2n, 2_000n)]);
    await someoneBlocked(one.pool, held);
    const settled = await epoch;
    expect((await voucher).map((outcome) => outcome.ok)).toEqual([true]);
    expect(settled.kind === 'settled' && settled.result.amount).toBe(1_000n);
    expect(conflicts).toEqual([]);
    const row = await one.store.reads.channel(channel.id);
    expect([row?.settledTotal, row?.latestTotal]).toEqual([1_000n, 2_000n]);
    expect(failedChecks(await one.audit())).toEqual([]);
  });

  it('a PostgreSQL restart: reads and writes meanwhile are SERVICE_UNAVAILABLE, and the same store works again after it', async () => {
    await enrol(one.store, random, 'w', 1_000_000n as Amount);
    const fund = (key: string) => one.store.transaction((tx) => tx.fund({ device: 'w', amount: 1_000_000n as Amount, key, nowMs: NOW_MS }));
    await database.restart(async () => {
      await expect(fund('during')).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
      await expect(one.store.reads.balance(walletAccount('w'))).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
      await expect(one.store.batch([(tx) => tx.addSpend('w', 1, 1n as Amount)])).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    });
    expect((await fund('after')).balance).toBe(2_000_000n);
    expect((await one.store.batch([(tx) => tx.addSpend('w', 1, 1n as Amount)])).map((outcome) => outcome.ok)).toEqual([true]);
    expect(failedChecks(await one.audit())).toEqual([]);
  });

  it('a connection cut inside a unit of work (pg_terminate_backend) is SERVICE_UNAVAILABLE, not a crash, and nothing of it stays', async () => {
    await enrol(one.store, random, 'w', 1_000_000n as Amount);
    const wrote = gate();
    const cut = gate();
    const unit = one.store.transaction(async (tx) => {
      await tx.fund({ device: 'w', amount: 1_000_000n as Amount, key: 'cut', nowMs: NOW_MS });
      wrote.open();
      await cut.wait;
    });
    await wrote.wait;
    const { rows } = await two.pool.query<{ cut: boolean }>("SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'");
    expect(rows.map((row) => row.cut)).toEqual([true]);
    cut.open();
    await expect(unit).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(await one.store.reads.balance(walletAccount('w'))).toBe(1_000_000n);
    expect(failedChecks(await one.audit())).toEqual([]);
  });

  it('a batch whose last write swallowed a database error is never reported committed (PostgreSQL answers its COMMIT with ROLLBACK)', async () => {
    await enrol(one.store, random, 'w', 1_000_000n as Amount);
    const batch = one.store.batch([async (tx) => {
      await tx.fund({ device: 'w', amount: 1_000_000n as Amount, key: 'swallowed', nowMs: NOW_MS });
      // A spend of no enrolled device: the statement fails (a foreign key), the transaction is
      // aborted, and the write goes on as if nothing happened.
      await tx.addSpend('nobody', 1, 1n as Amount).catch(() => undefined);
    }]);
    await expect(batch).rejects.toThrow(/the transaction committed \(PostgreSQL answered ROLLBACK\)/);
    expect(await one.store.reads.balance(walletAccount('w'))).toBe(1_000_000n);
  });

  it('a checkpoint for a seq another worker already took is refused as VOUCHER_SEQ_NOT_INCREASING', async () => {
    const channel = await channelOf();
    const checkpoint = (total: bigint) => (tx: StoreTx) => tx.appendCheckpoint({
      channel: channel.num, seq: 1n, total: total as Amount, checkpoint: random(109), signature: random(64), root: random(32), chainLength: 10, pricePerTick: 1n as Amount, nowMs: NOW_MS,
    });
    expect((await one.store.batch([checkpoint(100n)])).map((outcome) => outcome.ok)).toEqual([true]);
    const [stale] = await two.store.batch([checkpoint(200n)]);
    expect(stale).toMatchObject({ ok: false, error: { code: 'VOUCHER_SEQ_NOT_INCREASING' } });
    expect((await one.store.reads.channel(channel.id))?.latestTotal).toBe(100n);
  });

  it('a write held off by a lock longer than the store waits is SERVICE_UNAVAILABLE, and nothing of it stays', async () => {
    const channel = await channelOf();
    const impatient = await openPostgresTestLedger(database.url(), { lockWaitMs: 200 });
    const holder = await one.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE channels IN ACCESS EXCLUSIVE MODE');
      await expect(impatient.store.batch([voucherWrite(random, channel.num, 1n, 100n)])).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
      await holder.query('ROLLBACK');
      expect((await impatient.store.batch([voucherWrite(random, channel.num, 1n, 100n)])).map((outcome) => outcome.ok)).toEqual([true]);
    } finally {
      holder.release();
      await impatient.close();
    }
  });

  it('one settlement leader among processes racing for it; the lock goes with a killed leader, and a leader hears when it lost it', async () => {
    const script = await buildLeaderChild();
    const children = [runLeaderChild(script, database.url()), runLeaderChild(script, database.url())];
    try {
      const said = await Promise.all(children.map((child) => child.first));
      expect([...said].sort()).toEqual(['follower', 'leader']);
      expect(await tryAcquireSettlementLeader(one.pool)).toBeNull();
      const leader = children[said.indexOf('leader')]!;
      leader.child.kill('SIGKILL');
      await leader.exited;
      // PostgreSQL ends the dead session and frees its lock once it sees the socket closed.
      let mine = await tryAcquireSettlementLeader(one.pool);
      while (mine === null) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        mine = await tryAcquireSettlementLeader(one.pool);
      }
      expect(await tryAcquireSettlementLeader(two.pool)).toBeNull();
      await mine.release();
      const next = await tryAcquireSettlementLeader(two.pool);
      expect(next).not.toBeNull();
      // A server restart takes the leader's session, and with it the lock: the holder is told.
      await database.restart();
      await next?.lost;
      await next?.release();
    } finally {
      for (const child of children) child.child.kill('SIGKILL');
    }
  });
});
