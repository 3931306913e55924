// One currency per ledger [docs/DESIGN.md rule 13]: chosen when the ledger is created (ledger
// init, device add --init, a broker's first start), stored in meta and write-once (triggers),
// named by every view, the metrics and the channel certificate; a broker started with another
// fails fast; an agent configured for another refuses to pay before it signs anything.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MqpayError } from '../shared/errors.js';
import { toHex } from '../shared/hex.js';
import { generateKeyPair } from '../shared/keys.js';
import { decodeCertificate } from '../shared/certificate.js';
import { openDatabase } from '../broker/store/sqlite/open-database.js';
import { OPERATOR_TOKEN, random, startBroker, tempDir, type RunningBroker } from './helpers/broker-fixture.js';
import { AgentBed } from './helpers/agent-fixture.js';
import { runCli, startCli } from './helpers/ops-cli.js';
import { startOpsBroker } from './helpers/ops-fixture.js';

let dir: { path: string; remove: () => void };
beforeEach(() => {
  dir = tempDir('mqpay-currency-');
});
afterEach(() => dir.remove());

const key = (): string => toHex(generateKeyPair(random).publicKey);

describe('the ledger currency', () => {
  it('ledger init --currency stores it; it cannot change afterwards, by the CLI or by SQL', async () => {
    const data = ['--data', dir.path];
    const created = await runCli(['ledger', 'init', '--currency', 'USD', ...data]);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^ledger created in .* \(currency USD\); service public key [0-9a-f]{64}\n$/);
    expect((await runCli(['ledger', 'init', '--currency', 'USD', ...data])).stdout).toContain('ledger already in');
    const changed = await runCli(['ledger', 'init', '--currency', 'EUR', ...data]);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain('CURRENCY_MISMATCH');
    expect(changed.stderr).toContain('the ledger keeps another currency: USD, not EUR');
    const bad = await runCli(['ledger', 'init', '--currency', 'usd', ...data]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('CURRENCY_INVALID');

    const db = openDatabase(dir.path);
    try {
      expect(() => db.exec("UPDATE meta SET value = 'EUR' WHERE key = 'currency'")).toThrow(/currency cannot change/);
      expect(() => db.exec("DELETE FROM meta WHERE key = 'currency'")).toThrow(/currency cannot change/);
      expect(() => db.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('currency', 'EUR')")).toThrow(/currency cannot change/);
      expect(() => openDatabase(dir.path, { currency: 'EUR' })).toThrow(MqpayError);
    } finally {
      db.close();
    }

    expect((await runCli(['device', 'add', 'car', '--public-key', key(), ...data])).code).toBe(0);
    expect((await runCli(['wallet', 'fund', 'car', '3', '--id', 'f1', ...data])).stdout).toBe('funded car with 3 USD; balance 3 USD\n');
    const wallets = JSON.parse((await runCli(['wallets', '--json', ...data])).stdout) as { items: unknown[] };
    expect(wallets.items).toEqual([{ device: 'car', balance: '3', currency: 'USD' }]);
    const devices = JSON.parse((await runCli(['devices', '--json', ...data])).stdout) as { items: { currency: string }[] };
    expect(devices.items[0]?.currency).toBe('USD');
  });

  it('device add --init creates a ledger in the given currency, or the default EUR', async () => {
    const gbp = `${dir.path}/gbp`;
    expect((await runCli(['device', 'add', 'car', '--public-key', key(), '--init', '--currency', 'GBP', '--data', gbp])).code).toBe(0);
    expect((await runCli(['ledger', 'init', '--data', gbp])).stdout).toContain('(currency GBP)');
    const plain = `${dir.path}/plain`;
    expect((await runCli(['device', 'add', 'car', '--public-key', key(), '--init', '--data', plain])).code).toBe(0);
    expect((await runCli(['ledger', 'init', '--data', plain])).stdout).toContain('(currency EUR)');
  });

  it('a broker started with another --currency fails fast with one line; a new ledger takes it', async () => {
    expect((await runCli(['ledger', 'init', '--currency', 'USD', '--data', dir.path])).code).toBe(0);
    const env = { MQPAY_OPERATOR_TOKEN: OPERATOR_TOKEN };
    const refused = await runCli(['broker', '--data', dir.path, '--currency', 'EUR', '--mqtt-port', '0', '--log-level', 'silent'], env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain('CURRENCY_MISMATCH');

    const fresh = startCli(['broker', '--data', `${dir.path}/new`, '--currency', 'JPY', '--mqtt-port', '0', '--log-level', 'silent'], env);
    await fresh.waitFor('currency JPY');
    expect(await fresh.stop()).toBe(0);
  });

  it('the API, the metrics and the channel certificate name it', async () => {
    const broker = await startOpsBroker();
    try {
      broker.enrol('car', '5');
      const page = (await broker.api('GET', '/api/wallets')).json as { items: { currency: string }[] };
      expect(page.items.map((item) => item.currency)).toEqual(['EUR']);
      expect((await broker.api('GET', '/api/ledger')).json.currency).toBe('EUR');
      expect((await broker.api('GET', '/metrics')).text).toContain('mqpay_ledger_info{currency="EUR"} 1');
      const cli = await runCli(['wallets', '--json', '--url', broker.base, '--token', OPERATOR_TOKEN]);
      expect(JSON.parse(cli.stdout).items).toEqual([{ device: 'car', balance: '5', currency: 'EUR' }]);
    } finally {
      await broker.stop();
    }
  });
});

describe('an agent and the ledger currency', () => {
  let broker: RunningBroker;
  let bed: AgentBed;
  beforeEach(async () => {
    broker = await startBroker(); // an EUR ledger (the default)
    bed = new AgentBed(broker);
  });
  afterEach(async () => {
    await bed.cleanup();
    await broker.stop();
  });

  it('configured for USD, it refuses to pay on an EUR ledger (CURRENCY_MISMATCH) and signs nothing; unconfigured, it learns EUR', async () => {
    await bed.agent('shop');
    await bed.agent('kiosk');
    const usdHome = bed.home('car', { funds: '10', config: { currency: 'USD' } });
    const usd = await bed.start(usdHome);
    await expect(usd.pay('shop', '1')).rejects.toMatchObject({ code: 'CURRENCY_MISMATCH' });
    // Nothing signed; and once the ledger's currency is known, no second deposit is escrowed.
    await expect(usd.pay('kiosk', '1')).rejects.toMatchObject({ code: 'CURRENCY_MISMATCH' });
    const status = usd.channels();
    expect(status.currency).toBe('EUR');
    expect(status.paying).toHaveLength(1);
    expect(status.paying[0]?.signedSeq).toBe('0');
    expect(status.pendingVouchers).toBe(0);
    const text = await runCli(['agent', 'status', '--home', usdHome]);
    expect(text.stdout).toContain("currency: USD (configured); the ledger's is EUR, refused");

    const eurHome = bed.home('van', { funds: '10' });
    const eur = await bed.start(eurHome);
    await eur.pay('shop', '1');
    expect(eur.channels().currency).toBe('EUR');
    const certificate = broker.app.db.prepare("SELECT k.certificate FROM certificates k JOIN channels c ON c.num = k.channel WHERE c.payer = 'van'").get() as { certificate: Buffer };
    expect(decodeCertificate(new Uint8Array(certificate.certificate)).currency).toBe('EUR');
    expect((await runCli(['agent', 'status', '--home', eurHome])).stdout).toContain('currency: EUR\n');
  });

  it('agent init --currency is stored, and checked', async () => {
    const home = `${dir.path}/agent`;
    const made = await runCli(['agent', 'init', '--home', home, '--id', 'car', '--currency', 'USD']);
    expect(made.code).toBe(0);
    expect(JSON.parse(readFileSync(`${home}/agent.json`, 'utf8')).currency).toBe('USD');
    const bad = await runCli(['agent', 'init', '--home', `${dir.path}/bad`, '--id', 'car', '--currency', 'dollars']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('CURRENCY_INVALID');
  });
});
