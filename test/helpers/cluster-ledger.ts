// The ledger and the auth service of a cluster test FILE: a fresh PostgreSQL database (one that
// outlives each test, so tests can go on with the same workers), opened as the store, and mqpay's
// HTTP auth service over it, started in beforeAll before RabbitMQ (whose configuration names the
// auth service's URL: register this before `rabbitClusterPerFile`). Closed in afterAll, which
// runs after the hooks registered later (RabbitMQ's stop included).
import pino from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { startAuthServer, type AuthServer } from '../../broker/cluster/auth/auth-server.js';
import { storeLogins } from '../../broker/cluster/auth/store-logins.js';
import { Telemetry } from '../../broker/service/telemetry.js';
import { openPostgresLedger, type PostgresLedger } from '../../broker/store/postgres/open.js';
import { OPERATOR_TOKEN } from './broker-fixture.js';
import { postgresPerTest } from './postgres.js';

export interface ClusterLedger {
  readonly ledger: () => PostgresLedger;
  readonly storeUrl: () => string;
  readonly auth: () => AuthServer;
  /** For `rabbitClusterPerFile` (read in its beforeAll, after this one). */
  readonly authBaseUrl: () => string;
}

export function clusterLedgerPerFile(brokerId: string): ClusterLedger {
  const postgres = postgresPerTest();
  let ledger: PostgresLedger | null = null;
  let storeUrl = '';
  let auth: AuthServer | null = null;
  beforeAll(async () => {
    storeUrl = await postgres.freshDatabase();
    ledger = await openPostgresLedger(storeUrl);
    const logger = pino({ level: 'silent' });
    const telemetry = new Telemetry();
    auth = await startAuthServer({ service: storeLogins(ledger.store, telemetry, logger), clock: { nowMs: () => Date.now() }, brokerId, operatorToken: OPERATOR_TOKEN, telemetry, logger, offersWildcard: false }, { port: 0 });
  });
  afterAll(async () => {
    await auth?.close();
    await ledger?.close();
  });
  const present = <T>(value: T | null, what: string): T => {
    if (value === null) throw new Error(`${what} is not open (its beforeAll failed or has not run)`);
    return value;
  };
  return {
    ledger: () => present(ledger, 'the cluster ledger'),
    storeUrl: () => storeUrl,
    auth: () => present(auth, 'the auth service'),
    authBaseUrl: () => auth?.baseUrl ?? '',
  };
}
