// The agent's pure parts and store guarantees, without a broker: backoff, policy, the payee's
// voucher judgement, config validation, key-file permissions, the home lock, the write batch
// (savepoint isolation, after-commit only on commit, non-durable batches) and the triggers
// that make a signed (seq, total) immutable.
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../agent/home/config.js';
import { initAgentHome, loadAgentHome, statePathOf } from '../agent/home/home.js';
import { lockHome } from '../agent/home/home-lock.js';
import { readKeyFile } from '../agent/home/key-file.js';
import { judgeIncomingVoucher } from '../agent/payee/voucher-judge.js';
import { checkPolicy, HOUR_MS } from '../agent/policy.js';
import { reconnectDelayMs } from '../agent/link/reconnect-backoff.js';
import { openState } from '../agent/store/open-state.js';
import { insertOpeningChannel, recordSigned, reserveSeqs } from '../agent/store/payer-channels.js';
import { insertSignedVoucher } from '../agent/store/signed-vouchers.js';
import { GroupCommit, sqliteBatch } from '../sqlite/group-commit.js';
import type { PayeeChannel } from '../agent/store/payee-channels.js';
import { amountOf, parseAmount, type Amount } from '../shared/amount.js';
import { MqpayError } from '../shared/errors.js';
import { random, tempDir } from './helpers/broker-fixture.js';

const dirs: { remove: () => void }[] = [];
const dir = () => {
  const made = tempDir('mqpay-agent-unit-');
  dirs.push(made);
  return made.path;
};
afterEach(() => {
  for (const made of dirs.splice(0)) made.remove();
});

const codeOf = (run: () => unknown): string | null => {
  try {
    run();
    return null;
  } catch (error) {
    return error instanceof MqpayError ? error.code : `not an MqpayError: ${String(error)}`;
  }
};

describe('reconnect backoff', () => {
  it('doubles up to the cap, always within [ceiling/2, ceiling]', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 40 }), fc.uint8Array({ minLength: 4, maxLength: 4 }), (attempt, bytes) => {
      const options = { initialMs: 100, maxMs: 5_000 };
      const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 20));
      const delay = reconnectDelayMs(attempt, options, () => bytes);
      return delay >= ceiling / 2 && delay <= ceiling;
    }));
    const spread = new Set(Array.from({ length: 50 }, () => reconnectDelayMs(3, { initialMs: 100, maxMs: 5_000 }, random)));
    expect(spread.size).toBeGreaterThan(10); // jitter: a fleet does not come back in lockstep
  });
});

describe('spending policy (pure)', () => {
  const spentNothing = () => 0n as Amount;
  it('refuses in order: zero, allow-list, per payment, per-payee then overall budgets', () => {
    const policy = parseAgentConfig({ v: 1, device: 'a-1', policy: { maxPerPayment: '1', allow: ['shop'], perPayee: { hour: '2' }, overall: { day: '3' } } }).policy;
    expect(codeOf(() => checkPolicy(policy, 'shop', amountOf(0n), spentNothing, 0))).toBe('AMOUNT_ZERO');
    expect(codeOf(() => checkPolicy(policy, 'mall', parseAmount('0.1'), spentNothing, 0))).toBe('POLICY_PAYEE_NOT_ALLOWED');
    expect(codeOf(() => checkPolicy(policy, 'shop', parseAmount('1.000001'), spentNothing, 0))).toBe('POLICY_MAX_PER_PAYMENT');
    const spent = (perPayee: string, overall: string) => (_since: number, payee: string | null) => parseAmount(payee === null ? overall : perPayee);
    expect(codeOf(() => checkPolicy(policy, 'shop', parseAmount('1'), spent('1', '1'), 0))).toBeNull();
    expect(codeOf(() => checkPolicy(policy, 'shop', parseAmount('1'), spent('1.5', '1.5'), 0))).toBe('POLICY_BUDGET_EXCEEDED');
    expect(codeOf(() => checkPolicy(policy, 'shop', parseAmount('1'), spent('0', '2.5'), 0))).toBe('POLICY_BUDGET_EXCEEDED');
  });

  it('asks for the right windows', () => {
    const asked: [number, string | null][] = [];
    const policy = parseAgentConfig({ v: 1, device: 'a-1', policy: { perPayee: { hour: '2', day: '3' }, overall: { hour: '4' } } }).policy;
    checkPolicy(policy, 'shop', parseAmount('1'), (since, payee) => {
      asked.push([since, payee]);
      return 0n as Amount;
    }, 10 * HOUR_MS);
    expect(asked).toEqual([[9 * HOUR_MS, 'shop'], [-14 * HOUR_MS, 'shop'], [9 * HOUR_MS, null]]);
  });
});

describe('payee voucher judgement (pure)', () => {
  const channel: PayeeChannel = {
    id: new Uint8Array(32), payer: 'car', payerKey: new Uint8Array(32), deposit: amountOf(1_000n), expiresAtSeconds: 2_000n, revision: 1,
    state: 'open', receivedSeq: 5n, receivedTotal: amountOf(500n), settledTotal: amountOf(0n),
  };
  const voucher = (seq: bigint, total: bigint, expiresAtSeconds = 1_500n) => ({ channelId: channel.id, seq, total: amountOf(total), expiresAtSeconds, memoDigest: null });
  const verdict = (...args: Parameters<typeof judgeIncomingVoucher>) => {
    const result = judgeIncomingVoucher(...args);
    return result.kind === 'refuse' ? result.code : result.kind;
  };
  it('accepts a valid next voucher, tells duplicates and stale ones from refusals', () => {
    expect(verdict(channel, voucher(6n, 600n), true, 'direct', 1_000n)).toBe('accept');
    expect(verdict(channel, voucher(6n, 600n), false, 'direct', 1_000n)).toBe('SIGNATURE_INVALID');
    expect(verdict(channel, voucher(5n, 500n), true, 'direct', 1_000n)).toBe('VOUCHER_SEQ_NOT_INCREASING');
    expect(verdict(channel, voucher(5n, 500n), true, 'service', 1_000n)).toBe('duplicate');
    expect(verdict(channel, voucher(4n, 400n), true, 'service', 1_000n)).toBe('stale');
    expect(verdict(channel, voucher(5n, 501n), true, 'service', 1_000n)).toBe('VOUCHER_DOUBLE_SIGNED');
    expect(verdict(channel, voucher(6n, 500n), true, 'direct', 1_000n)).toBe('VOUCHER_TOTAL_NOT_INCREASING');
    expect(verdict(channel, voucher(6n, 1_001n), true, 'direct', 1_000n)).toBe('VOUCHER_ABOVE_DEPOSIT');
    expect(verdict(channel, voucher(6n, 600n, 999n), true, 'direct', 1_000n)).toBe('VOUCHER_EXPIRED');
    expect(verdict(channel, voucher(6n, 600n, 999n), true, 'service', 1_000n)).toBe('accept'); // the service already judged the time
    expect(verdict(channel, voucher(6n, 600n, 3_000n), true, 'direct', 2_000n)).toBe('CHANNEL_EXPIRED');
    expect(verdict({ ...channel, state: 'closed' }, voucher(6n, 600n), true, 'direct', 1_000n)).toBe('CHANNEL_CLOSED');
    expect(verdict(null, voucher(1n, 1n), null, 'direct', 1_000n)).toBe('CHANNEL_UNKNOWN');
    expect(verdict(null, voucher(1n, 1n), null, 'service', 1_000n)).toBe('accept');
  });
});

describe('agent home, config and key file', () => {
  it('validates the configuration with clear paths', () => {
    expect(parseAgentConfig({ v: 1, device: 'a-1' })).toMatchObject({ brokerId: 'mqpay', channel: { deposit: 1_000_000n, topupBelow: 0n }, policy: {} });
    for (const bad of [{ v: 1, device: 'A' }, { v: 1, device: 'a-1', channel: { deposit: '0' } }, { v: 1, device: 'a-1', policy: { maxPerPayment: '1.0000001' } }, { v: 1, device: 'a-1', extra: true }, { v: 2, device: 'a-1' }]) {
      expect(codeOf(() => parseAgentConfig(bad))).toBe('MESSAGE_INVALID');
    }
  });

  it('writes the key with mode 0600, refuses a second init, and refuses a key readable by others', () => {
    const home = join(dir(), 'h');
    const created = initAgentHome({ home, config: { v: 1, device: 'a-1' }, random });
    expect(loadAgentHome(home).keys.publicKey).toEqual(created.keys.publicKey);
    expect(codeOf(() => initAgentHome({ home, config: { v: 1, device: 'a-1' }, random }))).toBe('HOME_EXISTS');
    chmodSync(join(home, 'key'), 0o644);
    expect(codeOf(() => readKeyFile(join(home, 'key')))).toBe('KEY_INVALID');
  });

  it('lets one process at a time run an agent home, and ignores an old pid file naming a live process', () => {
    const home = dir();
    writeFileSync(join(home, 'agent.lock'), `${process.pid}\n`); // the old pid file, naming a live process
    const release = lockHome(home);
    expect(existsSync(join(home, 'agent.lock'))).toBe(false);
    let refusal: unknown;
    try {
      lockHome(home);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(MqpayError);
    expect((refusal as MqpayError).code).toBe('HOME_LOCKED');
    expect((refusal as Error).message).toContain(`another agent is already running on home ${home}`);
    release();
    lockHome(home)(); // free again once released
  });
});

describe('agent store', () => {
  const state = () => {
    const home = join(dir(), 'h');
    initAgentHome({ home, config: { v: 1, device: 'a-1' }, random });
    return openState(statePathOf(home));
  };
  const channel = new Uint8Array(32).fill(7);
  const signed = (seq: bigint, total: bigint) => ({
    channel, seq, total: amountOf(total), amount: amountOf(1n), payee: 'b-1', voucher: new Uint8Array(82), signature: new Uint8Array(64), memo: null, memoSalt: null, signedAtMs: 0,
  });

  it('never stores a second total for a used seq, and never lets the signed seq or total go down', () => {
    const db = state();
    insertOpeningChannel(db, { id: channel, payee: 'b-1', openRequest: 'open-1', deposit: amountOf(100n), durationSeconds: 60, nowMs: 0 });
    insertSignedVoucher(db, signed(1n, 10n));
    // A seq is signed only inside a durable reservation [docs/DESIGN.md rule 5].
    expect(() => recordSigned(db, channel, 1n, amountOf(10n))).toThrow(/reserved durably/);
    reserveSeqs(db, channel, 4n);
    recordSigned(db, channel, 1n, amountOf(10n));
    expect(() => recordSigned(db, channel, 5n, amountOf(20n))).toThrow(/reserved durably/);
    expect(() => reserveSeqs(db, channel, 3n)).toThrow(/a seq reservation/);
    expect(() => db.prepare('UPDATE payer_channels SET reserved_seq = 3').run()).toThrow(/only goes up/);
    expect(() => insertSignedVoucher(db, signed(1n, 11n))).toThrow(/UNIQUE/);
    expect(() => db.prepare('UPDATE signed_vouchers SET total = 11 WHERE seq = 1').run()).toThrow(/immutable/);
    expect(() => recordSigned(db, channel, 1n, amountOf(11n))).toThrow(/only go up/);
    expect(() => recordSigned(db, channel, 0n, amountOf(10n))).toThrow(/only go up/);
    expect(() => recordSigned(db, channel, 2n, amountOf(101n))).toThrow(/CHECK/); // above the deposit
    db.close();
  });

  it('commits writes of one turn together, isolates a failing one, and runs after-commit steps only for committed writes', async () => {
    const db = state();
    db.exec('CREATE TABLE t (n INTEGER PRIMARY KEY)');
    const batch = new GroupCommit(sqliteBatch(db), { entriesMax: 512, onStepError: (error) => {
      throw error;
    } });
    const ran: number[] = [];
    const write = (n: number) => batch.run(() => {
      db.prepare('INSERT INTO t (n) VALUES (?)').run(n);
      batch.afterCommit(() => ran.push(n));
      return n;
    }, { durable: n !== 2 });
    const outcomes = await Promise.allSettled([write(1), write(2), write(1), write(3)]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(ran).toEqual([1, 2, 3]);
    expect((db.prepare('SELECT n FROM t ORDER BY n').all() as { n: bigint }[]).map((r) => r.n)).toEqual([1n, 2n, 3n]);
    await batch.run(() => db.prepare('INSERT INTO t (n) VALUES (4)').run(), { durable: false });
    expect(db.pragma('synchronous', { simple: true })).toBe(2n); // FULL again after a non-durable batch
    await batch.close();
    await expect(batch.run(() => 1)).rejects.toThrow(/closed/);
    db.close();
  });
});
