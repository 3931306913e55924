// The throwaway PostgreSQL (broker/cluster/postgres-server.ts) and the test helper on it: it
// starts as a non-root user, accepts the password in its URL and nothing without it, keeps its
// data across a restart in the same directory, and gives each test its own database.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { postgresUrlOf, startPostgres } from '../broker/cluster/postgres-server.js';
import { tempDir } from './helpers/broker-fixture.js';
import { POSTGRES_MISSING, postgresPerTest } from './helpers/postgres.js';

async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe.skipIf(POSTGRES_MISSING !== null)(`postgres server ${POSTGRES_MISSING ?? ''}`, () => {
  const pgTest = postgresPerTest();

  it('gives each test a fresh database that another test never sees', async () => {
    await query(pgTest.url(), 'CREATE TABLE mark (x int)');
    const other = await pgTest.freshDatabase();
    const tables = await query(other, `SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'mark'`);
    expect(tables[0]?.n).toBe(0);
  });

  it('refuses a wrong password and runs the server as a non-root user', async () => {
    const wrong = new URL(pgTest.url());
    wrong.password = 'not-the-password';
    await expect(query(wrong.toString(), 'SELECT 1')).rejects.toThrow(/password authentication failed/);
    const rows = await query(pgTest.url(), `SELECT current_setting('data_directory') AS dir`);
    expect(String(rows[0]?.dir)).toContain(pgTest.server().dir);
  });

  it('keeps its data, password and port across a stop and a start in the same directory', async () => {
    const dir = tempDir('mqpay-pg-restart-');
    try {
      const first = await startPostgres({ dir: dir.path, durable: false });
      await query(first.url, 'CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)');
      await first.stop();
      await expect(query(first.url, 'SELECT 1')).rejects.toThrow();
      const second = await startPostgres({ dir: dir.path, durable: false });
      try {
        expect(second.url).toBe(first.url);
        expect(postgresUrlOf(dir.path)).toBe(first.url);
        expect(await query(second.url, 'SELECT x FROM kept')).toEqual([{ x: 42 }]);
      } finally {
        await second.stop();
      }
    } finally {
      dir.remove();
    }
  });

  it.skipIf(process.getuid?.() !== 0)('as root, starts inside a private (0700) directory of ours by letting the server user enter it, not list it', async () => {
    const dir = tempDir('mqpay-pg-private-');
    try {
      const parent = join(dir.path, 'cluster');
      mkdirSync(parent, { mode: 0o700 });
      const server = await startPostgres({ dir: join(parent, 'pg'), durable: false });
      try {
        expect(await query(server.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
        expect(statSync(parent).mode & 0o777).toBe(0o701);
      } finally {
        await server.stop();
      }
    } finally {
      dir.remove();
    }
  });

  it('refuses a directory too deep for its unix socket, naming the path, before initialising anything', async () => {
    const dir = tempDir('mqpay-pg-deep-');
    try {
      const deep = join(dir.path, 'd'.repeat(100));
      await expect(startPostgres({ dir: deep, port: 5 })).rejects.toThrow(/socket path .* is longer than 107 bytes/);
      expect(existsSync(join(deep, 'data'))).toBe(false);
    } finally {
      dir.remove();
    }
  });
});
