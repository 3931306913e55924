// CLI views (`mqpay devices|wallets|channels|settlements`) as a user runs them, through the same
// `main` the bin calls (in-process, output captured), against the data directory (--data) and
// against the running broker's API (--url --token), as tables and as JSON; `settlements --watch`
// following new settlements. Every command's --help and its refusal of a bad flag. Two smoke tests
// run the shipped dist/mqpay.js itself as a child process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageSchema } from '../broker/operator/http/paging.js';
import { channelView, settlementDetailView, walletView } from '../broker/operator/http/view-schemas.js';
import { OPERATOR_TOKEN, settledResult } from './helpers/broker-fixture.js';
import { commands } from '../cli/main.js';
import { runBuiltCli, runCli, startCli } from './helpers/ops-cli.js';
import { openPayingChannel, startOpsBroker, type OpsBroker, type PayingChannel } from './helpers/ops-fixture.js';

let broker: OpsBroker;
let channel: PayingChannel;
const listJson = <T extends Parameters<typeof pageSchema>[0]>(item: T) => pageSchema(item).pick({ items: true, nextOffset: true });

beforeAll(async () => {
  broker = await startOpsBroker();
  channel = await openPayingChannel(broker, { payer: 'car-1', payee: 'charger-1' }, { funds: '10', deposit: '2.5', step: '0.000125' });
  await channel.pay(200);
  await broker.app.service.settleNow();
});
afterAll(async () => {
  await broker.stop();
});

const sources = (): Record<'data' | 'url', string[]> => ({ data: ['--data', broker.dataDir], url: ['--url', broker.base, '--token', OPERATOR_TOKEN] });

describe('CLI views', () => {
  it('devices: a table with session state (known only to a running broker) and JSON', async () => {
    const local = await runCli(['devices', ...sources().data]);
    expect(local.code, local.stderr).toBe(0);
    expect(local.stdout).toMatch(/^device\s+status\s+session\s+balance\s+enrolled\s+public key\s+currency\n-+/);
    expect(local.stdout).toMatch(/\ncar-1\s+active\s+-\s+7\.5\s+/);
    const remote = await runCli(['devices', ...sources().url]);
    expect(remote.stdout).toMatch(/\ncar-1\s+active\s+online\s+7\.5\s+/);
    expect(remote.stdout).toMatch(/\ncharger-1\s+active\s+online\s+0\.025\s+/);
    const json = JSON.parse((await runCli(['devices', '--json', ...sources().url])).stdout);
    expect(json.items.map((d: { id: string; online: boolean }) => [d.id, d.online])).toEqual([['car-1', true], ['charger-1', true]]);
    const offline = JSON.parse((await runCli(['devices', '--json', ...sources().data])).stdout);
    expect(offline.items[0].online).toBeNull();
  });

  it('wallets, channels and settlements print the same JSON from the data directory and from the API', async () => {
    for (const [view, item] of [['wallets', walletView], ['channels', channelView], ['settlements', settlementDetailView]] as const) {
      const [local, remote] = await Promise.all([runCli([view, '--json', ...sources().data]), runCli([view, '--json', ...sources().url])]);
      expect(local.code, local.stderr).toBe(0);
      expect(remote.code, remote.stderr).toBe(0);
      const parsed = listJson(item).parse(JSON.parse(local.stdout));
      expect(JSON.parse(remote.stdout)).toEqual(parsed);
      expect(parsed.items.length).toBeGreaterThan(0);
    }
  });

  it('tables: wallets, channels, settlements, with paging hints', async () => {
    const wallets = await runCli(['wallets', ...sources().data]);
    expect(wallets.stdout).toBe('device     balance  currency\n---------  -------  --------\ncar-1      7.5      EUR\ncharger-1  0.025    EUR\n');
    const channels = await runCli(['channels', ...sources().url]);
    expect(channels.stdout).toMatch(/^channel\s+payer\s+payee\s+state\s+deposit\s+paid\s+settled\s+seq\s+expires\s+currency\n/);
    expect(channels.stdout).toContain(`${channel.channelHex.slice(0, 16)}…  car-1  charger-1  open   2.5      0.025  0.025    200`);
    const settlements = await runCli(['settlements', ...sources().data]);
    expect(settlements.stdout).toMatch(/^id\s+reason\s+at\s+channels\s+amount\s+fee\s+currency\n-+.*\nmanual-\d+\s+manual\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s+1\s+0\.025\s+0\s+EUR\n$/);
    const paged = await runCli(['wallets', '--limit', '1', ...sources().url]);
    expect(paged.stdout).toContain('(more: --offset 1)');
  });

  it('settlements --watch follows new settlements from the API and from the data directory', async () => {
    for (const source of ['url', 'data'] as const) {
      const watch = startCli(['settlements', '--watch', ...sources()[source]]);
      try {
        await watch.waitFor(`watching ${source === 'url' ? broker.base : broker.dataDir} for new settlements`, 'stderr');
        await channel.pay(8);
        const result = await settledResult(broker.app.service.settleNow());
        expect(result).not.toBeNull();
        await watch.waitFor(`${result?.id}  manual  1 channel  0.001 EUR (fee 0)  -> wallet:charger-1 +0.001`);
      } finally {
        expect(await watch.stop()).toBe(0);
      }
    }
  });

  it('settlements --watch --json prints one JSON object per new settlement', async () => {
    const watch = startCli(['settlements', '--watch', '--json', ...sources().url]);
    try {
      await watch.waitFor('for new settlements', 'stderr');
      await channel.pay(8);
      const result = await settledResult(broker.app.service.settleNow());
      await watch.waitFor(/\n$/);
      const line = JSON.parse(watch.stdout().trim().split('\n')[0] ?? '{}');
      expect(settlementDetailView.parse(line)).toMatchObject({ id: result?.id, amount: '0.001', lines: [{ account: 'wallet:charger-1', amount: '0.001' }] });
    } finally {
      expect(await watch.stop()).toBe(0);
    }
  });

  it('refuses a missing source, a wrong token and an unreachable broker with clear errors', async () => {
    const missing = await runCli(['wallets']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--data DIR or --url http://HOST:PORT is required');
    const wrong = await runCli(['wallets', '--url', broker.base, '--token', 'wrong-token-wrong-token']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('error NOT_AUTHORIZED');
    const noToken = await runCli(['wallets', '--url', broker.base], { MQPAY_OPERATOR_TOKEN: '' });
    expect(noToken.code).toBe(2);
    const down = await runCli(['wallets', '--url', 'http://127.0.0.1:9', '--token', OPERATOR_TOKEN]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('error SERVICE_UNAVAILABLE');
  });
});

describe('every command', () => {
  it('answers --help with its usage, summary and options, and exit 0', async () => {
    for (const command of commands) {
      const help = await runCli([...command.name, '--help']);
      expect(help.code, command.name.join(' ')).toBe(0);
      expect(help.stdout).toContain(`usage: mqpay ${[...command.name, ...command.positionals].join(' ')} [options]`);
      expect(help.stdout).toContain(command.summary);
      for (const flag of Object.keys(command.options)) expect(help.stdout).toContain(`--${flag}`);
      expect(help.stderr).toBe('');
    }
  });

  it('refuses an unknown flag and a wrong number of arguments with a usage error, its help, and exit 2', async () => {
    for (const command of commands) {
      const bad = await runCli([...command.name, '--no-such-flag']);
      expect(bad.code, command.name.join(' ')).toBe(2);
      expect(bad.stderr).toContain("usage error: Unknown option '--no-such-flag'");
      expect(bad.stderr).toContain(`usage: mqpay ${command.name.join(' ')}`);
      expect(bad.stdout).toBe('');
    }
    const extra = await runCli(['wallets', 'surplus', '--data', broker.dataDir]);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('usage error: expected no arguments, got surplus');
    const unknown = await runCli(['walets']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command: walets');
  });
});

describe('the shipped bin (dist/mqpay.js) as a child process', () => {
  it('--help lists the commands', async () => {
    const help = await runBuiltCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: mqpay <command> \[options\]/);
    for (const command of commands) expect(help.stdout).toContain(`  ${command.name.join(' ')} `);
  });

  it('runs an admin command with its exit code', async () => {
    const check = await runBuiltCli(['ledger', 'check', '--data', broker.dataDir]);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/ledger ok: \d+ checks hold/);
    const missing = await runBuiltCli(['ledger', 'check']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--data DIR or --url http://HOST:PORT is required');
  });
});
