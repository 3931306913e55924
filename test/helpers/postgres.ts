// A real PostgreSQL 15 for tests: one throwaway server per test FILE (started in beforeAll,
// stopped in afterAll, also when a test failed) and a fresh database per test, so tests neither
// share rows nor pay for a server each. Suites skip, saying why, when PostgreSQL is not installed:
//   describe.skipIf(POSTGRES_MISSING !== null)(`... (${POSTGRES_MISSING})`, () => { const pg = postgresPerTest(); ... })
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import pg from 'pg';
import { postgresMissingReason, startPostgres, type PostgresServer } from '../../broker/cluster/postgres-server.js';
import { tempDir } from './broker-fixture.js';

/** Null when PostgreSQL 15 is installed; otherwise the reason to print with the skip. */
export const POSTGRES_MISSING: string | null = postgresMissingReason();

export interface TestPostgres {
  /** The server of this file (after beforeAll). */
  server(): PostgresServer;
  /** The URL of this test's own fresh database (after beforeEach). */
  url(): string;
  /** One more fresh, empty database on this file's server; returns its URL. */
  freshDatabase(): Promise<string>;
  /** Stops this file's server (fast shutdown: sessions cut), runs `meanwhile`, starts it again on the same port and data. */
  restart(meanwhile?: () => Promise<void>): Promise<void>;
}

let databases = 0;

/** Starts one server for the file and creates a fresh database before each test (dropped after it). */
export function postgresPerTest(): TestPostgres {
  let server: PostgresServer | null = null;
  let dir: { path: string; remove: () => void } | null = null;
  let current: string | null = null;
  const admin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client(requireServer().url);
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  const requireServer = (): PostgresServer => {
    if (server === null) throw new Error('the test PostgreSQL is not started (postgresPerTest in a describe, used inside a test)');
    return server;
  };
  const freshDatabase = async (): Promise<string> => {
    databases += 1;
    const name = `t_${process.pid}_${databases}`;
    await admin((client) => client.query(`CREATE DATABASE ${name}`));
    const url = new URL(requireServer().url);
    url.pathname = `/${name}`;
    return url.toString();
  };
  beforeAll(async () => {
    dir = tempDir('mqpay-pg-');
    server = await startPostgres({ dir: dir.path, durable: false });
  });
  afterAll(async () => {
    try {
      await server?.stop();
    } finally {
      dir?.remove();
    }
  });
  beforeEach(async () => {
    current = await freshDatabase();
  });
  afterEach(async () => {
    if (current === null) return;
    const name = new URL(current).pathname.slice(1);
    current = null;
    // A test that left a pool open must not keep its database: WITH (FORCE) cuts its sessions.
    await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  });
  return {
    server: requireServer,
    url: () => {
      if (current === null) throw new Error('no database for this test (url() outside a test?)');
      return current;
    },
    freshDatabase,
    async restart(meanwhile) {
      const stopped = requireServer();
      await stopped.stop();
      try {
        await meanwhile?.();
      } finally {
        server = await startPostgres({ dir: stopped.dir, durable: false });
      }
    },
  };
}
