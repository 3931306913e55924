// `mqpay sim --cluster` in the suite [issue 15]: the real command starts a local cluster (PostgreSQL,
// the auth service, two RabbitMQ nodes, two workers), runs a seeded fleet of real agents through a
// fault proxy per node with dropped connections, SIGKILLs a worker twice (each replaced), and
// lets three rogues run the attack suite the embedded broker refuses (forged and replayed
// vouchers, double signing, overdrafts, impersonation, publishing into another inbox, reading
// every inbox): every attack must be refused here too, on the auth service's own log and the
// PostgreSQL ledger, and every end check (audit, conservation, accepted = settled or pending)
// must hold on that ledger. One cluster for the file; it is stopped by the command itself.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/broker-fixture.js';
import { POSTGRES_MISSING } from './helpers/postgres.js';
import { rabbitSkipReason } from './helpers/rabbit-cluster.js';

const SEED = 7;
const ARGS = ['--cluster', '--devices', '14', '--malicious', '3', '--duration', '20', '--kill-worker-every', '8', '--drop-rate', '0.02', '--seed', String(SEED), '--epoch-seconds', '2'];
/** Cluster start (~30 s on two shared cores), the 20 s run, the wind-down and the end checks. */
const RUN_TIMEOUT_MS = 240_000;
const ACCESS_ATTACKS = ['impersonation', 'acl-publish', 'acl-subscribe'];

interface Report {
  vouchers: { accepted: number; unconfirmed: number };
  attacks: { tried: number; rejected: number; by_kind: Record<string, { tried: number; rejected: number }>; failures: unknown[] };
  invariants: { ledger: boolean; conservation: boolean; accepted_settled_or_pending: boolean; details: Record<string, string> };
  faults: { worker_kills: number; drops: number };
  broker: { unexpected_exits: number; acl_violations_logged: number; connection_refusals_logged: number };
  ok: boolean;
}

const skipReason = rabbitSkipReason ?? (POSTGRES_MISSING === null ? null : `(skipped: ${POSTGRES_MISSING})`);

describe.skipIf(skipReason !== null)(`mqpay sim --cluster: attacks refused, workers killed, the PostgreSQL ledger holds ${skipReason ?? ''}`, () => {
  it('a seeded cluster run with two worker kills and three rogues keeps every invariant and refuses every attack', () => {
    const dir = tempDir('mqpay-sim-cluster-test-');
    try {
      const reportFile = join(dir.path, 'report.json');
      const run = spawnSync(process.execPath, ['dist/mqpay.js', 'sim', ...ARGS, '--report', reportFile], { encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
      expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
      expect(run.stderr).toContain('cluster up');
      const report = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
      expect(report.ok).toBe(true);
      expect(report.invariants).toMatchObject({ ledger: true, conservation: true, accepted_settled_or_pending: true });
      expect(report.invariants.details.ledger).toMatch(/audit checks hold/);
      expect(report.vouchers.accepted).toBeGreaterThan(20);
      expect(report.vouchers.unconfirmed).toBe(0);
      expect(report.faults.worker_kills).toBe(2);
      expect(report.broker.unexpected_exits).toBe(0);

      expect(report.attacks.failures).toEqual([]);
      expect(report.attacks.rejected).toBe(report.attacks.tried);
      expect(report.attacks.tried).toBeGreaterThanOrEqual(10);
      expect(Object.keys(report.attacks.by_kind).length).toBeGreaterThanOrEqual(6);
      for (const kind of ACCESS_ATTACKS) expect(report.attacks.by_kind[kind]?.rejected ?? 0, kind).toBeGreaterThan(0);
      // The auth service's own log confirms the access attacks it turned away.
      const access = (kind: string) => report.attacks.by_kind[kind]?.rejected ?? 0;
      expect(report.broker.acl_violations_logged).toBeGreaterThanOrEqual(access('acl-publish') + access('acl-subscribe'));
      expect(report.broker.connection_refusals_logged).toBeGreaterThanOrEqual(access('impersonation'));
    } finally {
      dir.remove();
    }
  }, RUN_TIMEOUT_MS + 10_000);
});
