// openStore (broker/store/open-store.ts): one `--store URL` for workers and tools. A SQLite path,
// `sqlite:PATH` or a data directory opens the SQLite ledger; a postgres:// URL the PostgreSQL one,
// migrated once however many processes open it; both keep their currency and audit the same way.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore, sqliteFileOf, storeKindOf } from '../broker/store/open-store.js';
import { tempDir } from './helpers/broker-fixture.js';
import { POSTGRES_MISSING, postgresPerTest } from './helpers/postgres.js';
import { failedChecks } from './helpers/store-ledgers.js';
import { runCli } from './helpers/ops-cli.js';

describe('openStore: SQLite', () => {
  it('reads a path, sqlite:PATH or a data directory as the SQLite ledger', async () => {
    const dir = tempDir('mqpay-open-store-');
    try {
      expect(storeKindOf('postgresql://x@h/db')).toBe('postgres');
      expect(storeKindOf(join(dir.path, 'a.db'))).toBe('sqlite');
      expect(sqliteFileOf(`sqlite:${join(dir.path, 'a.db')}`)).toBe(join(dir.path, 'a.db'));
      expect(sqliteFileOf(dir.path)).toBe(join(dir.path, 'mqpay.db'));
      const opened = await openStore(`sqlite:${join(dir.path, 'a.db')}`, { currency: 'CHF' });
      try {
        expect([opened.kind, opened.pool, await opened.store.reads.ledgerCurrency()]).toEqual(['sqlite', null, 'CHF']);
        expect(failedChecks(await opened.audit())).toEqual([]);
      } finally {
        await opened.close();
      }
      expect(existsSync(join(dir.path, 'a.db'))).toBe(true);
    } finally {
      dir.remove();
    }
  });
});

describe.skipIf(POSTGRES_MISSING !== null)(`openStore: PostgreSQL${POSTGRES_MISSING === null ? '' : ` (skipped: ${POSTGRES_MISSING})`}`, () => {
  const database = postgresPerTest();

  it('migrates once when several processes open it at once, keeps its currency, and audits clean', async () => {
    const opened = await Promise.all([1, 2, 3].map(() => openStore(database.url(), { currency: 'USD' })));
    try {
      expect(opened.map((one) => one.kind)).toEqual(['postgres', 'postgres', 'postgres']);
      expect(await opened[0]!.store.reads.ledgerCurrency()).toBe('USD');
      expect(failedChecks(await opened[1]!.audit({ verifySignatures: true }))).toEqual([]);
      await expect(openStore(database.url(), { currency: 'EUR' })).rejects.toMatchObject({ code: 'CURRENCY_MISMATCH' });
    } finally {
      await Promise.all(opened.map((one) => one.close()));
    }
  });

  it('mqpay ledger check --store audits the PostgreSQL ledger, refuses a database without one, and takes one source only', async () => {
    const opened = await openStore(database.url());
    await opened.close();
    const checked = await runCli(['ledger', 'check', '--store', database.url(), '--verify-signatures']);
    expect(checked.code).toBe(0);
    expect(checked.stdout).toMatch(/^ok {4}all accounts sum to zero: sum is 0/m);
    expect(checked.stdout).toMatch(/ledger ok: 16 checks hold\n$/);
    const empty = await runCli(['ledger', 'check', '--store', await database.freshDatabase()]);
    expect([empty.code, empty.stderr]).toEqual([1, expect.stringContaining('NOT_FOUND')]);
    const both = await runCli(['ledger', 'check', '--store', database.url(), '--data', '/tmp']);
    expect([both.code, both.stderr]).toEqual([2, expect.stringContaining('only one')]);
  });
});
