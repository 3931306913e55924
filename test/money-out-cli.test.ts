// `mqpay wallet withdraw`, `mqpay fees withdraw`, `mqpay wallet move` and `mqpay export` through
// the real CLI (`main` in-process) [docs/DESIGN.md rule 13]: on the data directory (--data: one
// SQLite transaction each) and through a running broker (--url: the service's unit of work).
// Both apply one rule: once per key, IDEMPOTENCY_CONFLICT for another transfer with the key,
// INSUFFICIENT_FUNDS above the balance; the ledger audit holds after each.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toHex } from '../shared/hex.js';
import { generateKeyPair } from '../shared/keys.js';
import { OPERATOR_TOKEN, random, tempDir } from './helpers/broker-fixture.js';
import { runCli } from './helpers/ops-cli.js';
import { errorCode } from './helpers/error-code.js';
import { exportRows, parseExportRange } from '../broker/operator/bookkeeping-export.js';
import { openDatabase } from '../broker/store/sqlite/open-database.js';
import { startOpsBroker, type OpsBroker } from './helpers/ops-fixture.js';

let dir: { path: string; remove: () => void };
beforeEach(() => {
  dir = tempDir('mqpay-money-out-');
});
afterEach(() => dir.remove());

async function ledgerWith(data: readonly string[], devices: readonly string[]): Promise<void> {
  expect((await runCli(['ledger', 'init', '--currency', 'USD', ...data])).code).toBe(0);
  for (const device of devices) expect((await runCli(['device', 'add', device, '--public-key', toHex(generateKeyPair(random).publicKey), ...data])).code).toBe(0);
}

describe('money out on the data directory (--data)', () => {
  it('wallet withdraw pays out once per --id; reuse for another amount is IDEMPOTENCY_CONFLICT; above the balance INSUFFICIENT_FUNDS', async () => {
    const data = ['--data', dir.path];
    await ledgerWith(data, ['car', 'van']);
    expect((await runCli(['wallet', 'fund', 'car', '10', '--id', 'f1', ...data])).code).toBe(0);

    const paid = await runCli(['wallet', 'withdraw', 'car', '4', '--id', 'w1', ...data]);
    expect(paid).toEqual({ code: 0, stdout: 'paid out 4 USD from wallet:car; balance 6 USD (transfer payout:w1)\n', stderr: '' });
    const again = await runCli(['wallet', 'withdraw', 'car', '4', '--id', 'w1', ...data]);
    expect(again.stdout).toBe('already paid out (same id) 4 USD from wallet:car; balance 6 USD (transfer payout:w1)\n');
    const conflict = await runCli(['wallet', 'withdraw', 'car', '5', '--id', 'w1', ...data]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain('IDEMPOTENCY_CONFLICT');
    const above = await runCli(['wallet', 'withdraw', 'car', '6.000001', '--id', 'w2', ...data]);
    expect(above.code).toBe(1);
    expect(above.stderr).toContain('INSUFFICIENT_FUNDS');
    const noKey = await runCli(['wallet', 'withdraw', 'car', '1', ...data]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('--id');
    const json = await runCli(['wallet', 'withdraw', 'car', '1', '--id', 'w3', '--json', ...data]);
    expect(JSON.parse(json.stdout)).toEqual({ account: 'wallet:car', amount: '1', balance: '5', currency: 'USD', moved: true, idempotencyKey: 'w3', transfer: 'payout:w3' });

    const moved = await runCli(['wallet', 'move', 'car', 'van', '5', '--id', 'm1', ...data]);
    expect(moved.stdout).toBe('moved 5 USD from car to van; car balance 0 USD (transfer move:m1)\n');
    expect((await runCli(['wallet', 'move', 'car', 'van', '5', '--id', 'm1', ...data])).stdout).toContain('already moved (same id)');
    expect((await runCli(['wallet', 'move', 'car', 'van', '4', '--id', 'm1', ...data])).stderr).toContain('IDEMPOTENCY_CONFLICT');
    expect((await runCli(['wallet', 'move', 'van', 'car', '5.1', '--id', 'm2', ...data])).stderr).toContain('INSUFFICIENT_FUNDS');
    expect((await runCli(['fees', 'withdraw', '0.01', '--id', 'fees-1', ...data])).stderr).toContain('INSUFFICIENT_FUNDS');

    const wallets = JSON.parse((await runCli(['wallets', '--json', ...data])).stdout) as { items: unknown[] };
    expect(wallets.items).toEqual([{ device: 'car', balance: '0', currency: 'USD' }, { device: 'van', balance: '5', currency: 'USD' }]);
    const audit = await runCli(['ledger', 'check', ...data]);
    expect(audit.code).toBe(0);
    expect(audit.stdout).toContain('ok    funding in minus payouts out equals wallets plus escrow plus fees: funded minus paid out is held');
  });

  it('export: CSV with a header (RFC 4180), JSON, one device, and clear errors for bad dates', async () => {
    const data = ['--data', dir.path];
    await ledgerWith(data, ['car', 'van']);
    expect((await runCli(['wallet', 'fund', 'car', '10', '--id', 'f,1', ...data])).code).toBe(0); // a comma in a key is quoted
    expect((await runCli(['wallet', 'move', 'car', 'van', '2.5', '--id', 'm1', ...data])).code).toBe(0);
    expect((await runCli(['wallet', 'withdraw', 'van', '1', '--id', 'w1', ...data])).code).toBe(0);
    const range = ['--from', '2000-01-01', '--to', '2100-01-01'];
    const csv = await runCli(['export', ...range, ...data]);
    expect(csv.code).toBe(0);
    const lines = csv.stdout.split('\r\n');
    expect(lines[0]).toBe('time,record,kind,id,from,to,amount,fee,currency,channel,settlement,key');
    expect(lines.slice(1).map((line) => line.replace(/^[^,]+,/, ''))).toEqual([
      'transfer,fund,"fund:f,1",external,wallet:car,10,,USD,,,"f,1"',
      'transfer,move,move:m1,wallet:car,wallet:van,2.5,,USD,,,m1',
      'transfer,payout,payout:w1,wallet:van,external,1,,USD,,,w1\n',
    ]);
    const json = JSON.parse((await runCli(['export', ...range, '--format', 'json', '--device', 'van', ...data])).stdout) as { currency: string; device: string; rows: { id: string; time: string }[] };
    expect(json).toMatchObject({ currency: 'USD', device: 'van', from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z' });
    expect(json.rows.map((row) => row.id)).toEqual(['move:m1', 'payout:w1']);
    expect(json.rows[0]?.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const empty = await runCli(['export', '--from', '2000-01-01', '--to', '2000-01-01', ...data]);
    expect(empty.stdout).toBe('time,record,kind,id,from,to,amount,fee,currency,channel,settlement,key\n');

    const backwards = await runCli(['export', '--from', '2026-12-02', '--to', '2026-12-01', ...data]);
    expect(backwards.code).toBe(1);
    expect(backwards.stderr).toContain('from (2026-12-02) is after to (2026-12-01)');
    const notADate = await runCli(['export', '--from', '2026-13-01', '--to', '2026-12-01', ...data]);
    expect(notADate.stderr).toContain('from must be an ISO 8601 date');
    expect((await runCli(['export', '--from', '2026-12-01', ...data])).code).toBe(2);
    expect((await runCli(['export', ...range, '--format', 'xml', ...data])).stderr).toContain('--format must be csv or json');

    // Bounded: a range with more rows than the bound is refused whole, never cut short.
    const db = openDatabase(dir.path);
    try {
      const wide = parseExportRange('2000-01-01', '2100-01-01');
      expect(exportRows(db, wide, null, 'USD', 3)).toHaveLength(3);
      expect(errorCode(() => exportRows(db, wide, null, 'USD', 2))).toBe('MESSAGE_TOO_LARGE');
    } finally {
      db.close();
    }
  });
});

describe('money out through a running broker (--url)', () => {
  let broker: OpsBroker;
  beforeEach(async () => {
    broker = await startOpsBroker();
  });
  afterEach(() => broker.stop());

  it('withdraw, move and export go through the API, with the same answers and the same export as --data', async () => {
    const url = ['--url', broker.base, '--token', OPERATOR_TOKEN];
    broker.enrol('car', '10');
    broker.enrol('van');
    const paid = await runCli(['wallet', 'withdraw', 'car', '3', '--id', 'w1', ...url]);
    expect(paid.stdout).toBe('paid out 3 EUR from wallet:car; balance 7 EUR (transfer payout:w1)\n');
    expect((await runCli(['wallet', 'withdraw', 'car', '3', '--id', 'w1', ...url])).stdout).toContain('already paid out (same id)');
    const conflict = await runCli(['wallet', 'withdraw', 'car', '4', '--id', 'w1', ...url]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain('IDEMPOTENCY_CONFLICT');
    expect((await runCli(['wallet', 'withdraw', 'car', '8', '--id', 'w2', ...url])).stderr).toContain('INSUFFICIENT_FUNDS');
    expect((await runCli(['wallet', 'move', 'car', 'van', '7', '--id', 'm1', ...url])).stdout).toBe('moved 7 EUR from car to van; car balance 0 EUR (transfer move:m1)\n');
    expect((await runCli(['fees', 'withdraw', '1', '--id', 'f1', ...url])).stderr).toContain('INSUFFICIENT_FUNDS');

    const range = ['--from', '2000-01-01', '--to', '2100-01-01'];
    const overApi = await runCli(['export', ...range, ...url]);
    const overData = await runCli(['export', ...range, '--data', broker.dataDir]);
    expect(overApi.code).toBe(0);
    expect(overApi.stdout).toBe(overData.stdout);
    expect(overApi.stdout).toContain(',transfer,payout,payout:w1,wallet:car,external,3,,EUR,,,w1\r\n');
    const jsonApi = await runCli(['export', ...range, '--format', 'json', '--device', 'van', ...url]);
    const jsonData = await runCli(['export', ...range, '--format', 'json', '--device', 'van', '--data', broker.dataDir]);
    expect(jsonApi.stdout).toBe(jsonData.stdout);
    expect((await runCli(['ledger', 'check', '--data', broker.dataDir])).code).toBe(0);
  });
});

describe('money out in the operator journal', () => {
  it('payouts and moves (API and CLI) are journaled beside the backups and listed for replay after a restore', async () => {
    const backupDir = `${dir.path}/backups`;
    const broker = await startOpsBroker({ backupDir });
    try {
      broker.enrol('car', '10');
      broker.enrol('van');
      const backup = `${backupDir}/before.db`;
      expect((await runCli(['ledger', 'backup', '--data', broker.dataDir, '--to', backup])).code).toBe(0);
      const url = ['--url', broker.base, '--token', OPERATOR_TOKEN];
      expect((await runCli(['wallet', 'withdraw', 'car', '2', '--id', 'w-api', ...url])).code).toBe(0);
      expect((await runCli(['wallet', 'move', 'car', 'van', '3', '--id', 'm-cli', '--data', broker.dataDir])).code).toBe(0);
      // A repeat moves nothing and is not journaled again.
      expect((await runCli(['wallet', 'move', 'car', 'van', '3', '--id', 'm-cli', '--data', broker.dataDir])).stdout).toMatch(/^already moved/);
      const listed = await runCli(['ledger', 'journal', '--since-backup', backup, '--journal', backupDir]);
      expect(listed.stdout).toMatch(/2 money action\(s\) after the backup/);
      expect(listed.stdout).toContain('mqpay wallet withdraw car 2 --id w-api --data DIR    # ');
      expect(listed.stdout).toContain('mqpay wallet move car van 3 --id m-cli --data DIR    # ');
      // The live ledger holds both transfers: nothing to replay there.
      const against = await runCli(['ledger', 'journal', '--since-backup', backup, '--journal', backupDir, '--data', broker.dataDir]);
      expect(against.stdout).toMatch(/no money actions to replay/);
    } finally {
      await broker.stop();
    }
  });
});
