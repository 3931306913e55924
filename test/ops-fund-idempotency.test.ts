// `mqpay wallet fund` with an idempotency key (--id): the same funding again funds once and says
// so; the same key for another amount or another wallet is IDEMPOTENCY_CONFLICT and a non-zero
// exit, the rule the HTTP API (409) and RPC requests follow too. In-process `main`, a real
// SQLite data directory.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toHex } from '../shared/hex.js';
import { generateKeyPair } from '../shared/keys.js';
import { random, tempDir } from './helpers/broker-fixture.js';
import { runCli } from './helpers/ops-cli.js';

let dir: { path: string; remove: () => void };
beforeEach(() => {
  dir = tempDir('mqpay-fund-');
});
afterEach(() => dir.remove());

describe('mqpay wallet fund --id', () => {
  it('funds once per key, and refuses the key for another amount or wallet with IDEMPOTENCY_CONFLICT', async () => {
    const data = ['--data', dir.path];
    expect(await runCli(['ledger', 'init', ...data])).toMatchObject({ code: 0 });
    for (const device of ['fridge-1', 'fridge-2']) {
      const added = await runCli(['device', 'add', device, '--public-key', toHex(generateKeyPair(random).publicKey), ...data]);
      expect(added).toMatchObject({ code: 0 });
    }
    const funded = await runCli(['wallet', 'fund', 'fridge-1', '10', '--id', 'g1', ...data]);
    expect(funded).toMatchObject({ code: 0, stdout: 'funded fridge-1 with 10 EUR; balance 10 EUR\n' });
    const again = await runCli(['wallet', 'fund', 'fridge-1', '10', '--id', 'g1', ...data]);
    expect(again).toMatchObject({ code: 0, stdout: 'already funded (same id) fridge-1 with 10 EUR; balance 10 EUR\n' });

    const otherAmount = await runCli(['wallet', 'fund', 'fridge-1', '11', '--id', 'g1', ...data]);
    expect(otherAmount.code).toBe(1);
    expect(otherAmount.stderr).toContain('IDEMPOTENCY_CONFLICT');
    expect(otherAmount.stdout).toBe('');
    const otherWallet = await runCli(['wallet', 'fund', 'fridge-2', '10', '--id', 'g1', ...data]);
    expect(otherWallet.code).toBe(1);
    expect(otherWallet.stderr).toContain('IDEMPOTENCY_CONFLICT');

    // Nothing moved for the refused ones: fridge-2 was never funded, fridge-1 holds 10.
    const wallets = await runCli(['wallets', '--json', ...data]);
    expect(wallets.code).toBe(0);
    const balances = Object.fromEntries((JSON.parse(wallets.stdout) as { items: { device: string; balance: string }[] }).items.map((row) => [row.device, row.balance]));
    expect(balances).toEqual({ 'fridge-1': '10', 'fridge-2': '0' });
    const audit = await runCli(['ledger', 'check', ...data]);
    expect(audit.code).toBe(0);
  });

  it('a data directory without a ledger is refused (a mistyped --data), unless ledger init or --init makes one', async () => {
    const missing = `${dir.path}/typo`;
    const key = toHex(generateKeyPair(random).publicKey);
    for (const args of [['device', 'add', 'fridge-1', '--public-key', key], ['wallet', 'fund', 'fridge-1', '1'], ['ledger', 'check']]) {
      const refused = await runCli([...args, '--data', missing]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`no mqpay ledger in ${missing} (check --data; to start a new one: mqpay ledger init --data ${missing}, or --init)`);
    }
    expect(existsSync(missing)).toBe(false); // nothing was created by the refusals
    expect(await runCli(['device', 'add', 'fridge-1', '--public-key', key, '--init', '--data', missing])).toMatchObject({ code: 0, stdout: 'enrolled fridge-1\n' });
    const again = await runCli(['ledger', 'init', '--data', missing]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^ledger already in .*typo \(currency EUR\); service public key [0-9a-f]{64}\n$/);
  });

  it('a URL for --data (a PostgreSQL ledger) is refused with what takes one instead, and creates nothing', async () => {
    const url = 'postgres://mqpay@127.0.0.1:5432/mqpay';
    const commands = [['broker'], ['wallets'], ['ledger', 'check'], ['ledger', 'backup', '--to', `${dir.path}/backup`], ['wallet', 'fund', 'fridge-1', '1'], ['sim', '--duration', '1']];
    for (const args of commands) {
      const refused = await runCli([...args, '--data', url]);
      expect(refused.code, args.join(' ')).toBe(2);
      expect(refused.stderr).toContain('--data takes a path, not a postgres:// URL; this command works on a SQLite data directory');
      expect(refused.stderr).toContain('`mqpay ledger check --store URL`');
    }
    // Resolved as a path, the URL would have named a directory `postgres:` here.
    expect(existsSync(resolve('postgres:'))).toBe(false);
    expect(existsSync(`${dir.path}/backup`)).toBe(false);
  });
});
