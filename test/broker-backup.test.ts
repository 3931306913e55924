// Online backups while the broker writes, restores that refuse a live ledger, and the broker's
// scheduled backups: kept to N, their age a metric that moves with the (injected) clock, and an
// alarm (ops event with its strict schema) once the latest is older than the bound.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createOperatorMetrics } from '../broker/operator/metrics.js';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { inspectBackup, writeBackup } from '../broker/store/sqlite/backup-file.js';
import { loadOrCreateServiceKey } from '../broker/service-key.js';
import { openDatabase } from '../broker/store/sqlite/open-database.js';
import { readRestoreRecord } from '../broker/store/sqlite/restore-record.js';
import { opsEventSchema, type OpsEvent } from '../shared/ops-events.js';
import { amountOf } from '../shared/amount.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import { OPERATOR_TOKEN, random, signedVoucher, startBroker, tempDir, type RunningBroker } from './helpers/broker-fixture.js';
import { operatorHttpHandler } from '../broker/operator/http/operator-api.js';
import { runCli } from './helpers/ops-cli.js';

let broker: RunningBroker | null = null;
const dirs: { remove: () => void }[] = [];
afterEach(async () => {
  await broker?.stop();
  broker = null;
  for (const dir of dirs.splice(0)) dir.remove();
});

function scratch(): string {
  const dir = tempDir('mqpay-backup-');
  dirs.push(dir);
  return dir.path;
}

describe('online backups', () => {
  it('a backup taken while vouchers stream in passes the integrity check and the audit, and restores', async () => {
    broker = await startBroker();
    const keys = broker.enrol('car-1', '100');
    broker.enrol('charger-1');
    const car = await broker.link('car-1', keys);
    const channelId = newChannelId(random);
    await car.request('channel.open', { channel: toHex(channelId), payee: 'charger-1', deposit: '50', durationSeconds: 3600 });
    // Load: vouchers in flight (not awaited) while two backups run, the CLI's and the broker's own.
    const vouchers: Promise<unknown>[] = [];
    for (let seq = 1n; seq <= 400n; seq++) vouchers.push(car.publish('voucher', signedVoucher(keys, { channelId, seq, total: amountOf(seq * 1000n) })).catch(() => undefined));
    const file = join(scratch(), 'under-load.db');
    // The broker's own kind of backup: on its connection, one page per event-loop turn, so the
    // vouchers' commits land between its steps.
    const stepped = join(scratch(), 'stepped.db');
    const serviceSecretKey = loadOrCreateServiceKey(broker.dataDir, random).secretKey;
    const [cli, own] = await Promise.all([
      runCli(['ledger', 'backup', '--data', broker.dataDir, '--to', file]),
      writeBackup(broker.app.db, stepped, { nowMs: Date.now(), pagesPerStep: 1, serviceSecretKey }),
      broker.app.service.settleNow(), ...vouchers,
    ]);
    expect(own.checks.filter((check) => !check.ok)).toEqual([]);
    expect(inspectBackup(stepped).checks.filter((check) => !check.ok)).toEqual([]);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/^backup written: .*under-load\.db \(\d+ bytes\), snapshot of \d{4}-/);
    const facts = inspectBackup(file);
    expect(facts.checks.length).toBeGreaterThan(5);
    expect(facts.checks.filter((check) => !check.ok)).toEqual([]);
    expect(facts.startedAtMs).not.toBeNull();
    expect(statSync(file).mode & 0o777).toBe(0o600); // it holds the service key

    // Restored into a new directory, it audits clean and records where it came from.
    const restored = join(scratch(), 'restored');
    const restore = await runCli(['ledger', 'restore', '--from', file, '--data', restored]);
    expect(restore.code).toBe(0);
    const db = openDatabase(restored);
    try {
      expect(auditLedger(db).filter((check) => !check.ok)).toEqual([]);
      expect(readRestoreRecord(db)).toMatchObject({ from: file, backupStartedAtMs: facts.startedAtMs, healedChannels: 0 });
    } finally {
      db.close();
    }
    expect(existsSync(join(restored, 'service.key'))).toBe(true);
  });

  it('restore refuses a directory with a ledger, live or not, and changes nothing', async () => {
    broker = await startBroker();
    broker.enrol('car-1', '5');
    const file = join(scratch(), 'one.db');
    expect((await runCli(['ledger', 'backup', '--data', broker.dataDir, '--to', file])).code).toBe(0);
    const again = await runCli(['ledger', 'backup', '--data', broker.dataDir, '--to', file]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/exists; a backup never overwrites a file/);
    const refused = await runCli(['ledger', 'restore', '--from', file, '--data', broker.dataDir]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/already holds a ledger \(mqpay\.db, mqpay\.db-wal, service\.key\); a restore never overwrites/);
    expect(readRestoreRecord(broker.app.db)).toBeNull();
    expect(await broker.app.service.device('car-1')).not.toBeNull();
  });
});

describe('the operator journal', () => {
  it('journals fundings (HTTP API and CLI) beside the backups and lists those after a backup, less those the ledger holds', async () => {
    const backupDir = scratch();
    broker = await startBroker({ backupDir, httpPort: 0 }, undefined, { httpHandler: operatorHttpHandler() });
    broker.enrol('car-1');
    const backup = join(backupDir, 'b.db');
    expect((await runCli(['ledger', 'backup', '--data', broker.dataDir, '--to', backup])).code).toBe(0);
    const funded = await fetch(`http://127.0.0.1:${broker.httpPort}/api/wallets/car-1/fund`, {
      method: 'POST', headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json', 'idempotency-key': 'api-1' }, body: JSON.stringify({ amount: '2.5' }),
    });
    expect(funded.status).toBe(201);
    expect((await runCli(['wallet', 'fund', 'car-1', '1', '--id', 'cli-1', '--data', broker.dataDir])).code).toBe(0);
    // A repeat moves nothing and is not journaled again.
    expect((await runCli(['wallet', 'fund', 'car-1', '1', '--id', 'cli-1', '--data', broker.dataDir])).stdout).toMatch(/^already funded/);
    const listed = await runCli(['ledger', 'journal', '--since-backup', backup, '--journal', backupDir]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/2 money action\(s\) after the backup/);
    expect(listed.stdout).toContain('mqpay wallet fund car-1 2.5 --id api-1 --data DIR    # ');
    expect(listed.stdout).toContain('mqpay wallet fund car-1 1 --id cli-1 --data DIR    # ');
    // Against the live ledger, which holds both keys, nothing is left to replay.
    const against = await runCli(['ledger', 'journal', '--since-backup', backup, '--journal', backupDir, '--data', broker.dataDir]);
    expect(against.stdout).toMatch(/no money actions to replay/);
  });
});

describe('scheduled backups', () => {
  it('keeps N, and the age metric and the overdue alarm follow the clock', async () => {
    let nowMs = Date.UTC(2026, 11, 4, 12, 0, 0);
    const clock = { nowMs: () => nowMs };
    const backupDir = scratch();
    broker = await startBroker({ backupDir, backupEverySeconds: 60, backupKeep: 2 }, undefined, { clock });
    const backups = broker.app.backups;
    if (backups === null) throw new Error('scheduled backups are on');
    const events: OpsEvent[] = [];
    broker.app.service.telemetry.on((event) => {
      if (event.kind === 'ops.event') events.push(opsEventSchema.parse(event.event) as OpsEvent);
    });
    // The first backup is taken at start.
    await expect.poll(() => backups.successes).toBe(1);
    for (let i = 0; i < 3; i++) {
      nowMs += 30_000;
      expect(await backups.backupNow()).not.toBeNull();
    }
    const files = readdirSync(backupDir).filter((name) => name.endsWith('.db')).sort();
    expect(files).toEqual(['mqpay-20261204T120100000Z.db', 'mqpay-20261204T120130000Z.db']);

    const metrics = createOperatorMetrics(broker.app, () => 0);
    const age = async () => Number(/^mqpay_backup_age_seconds (\S+)$/m.exec(await metrics.registry.metrics())?.[1]);
    expect(await age()).toBe(0);
    nowMs += 90_000;
    expect(await age()).toBe(90);
    expect(backups.checkOverdue()).toBe(false);
    nowMs += 60_000;
    expect(await age()).toBe(150);
    expect(backups.checkOverdue()).toBe(true);
    expect(/^mqpay_backup_overdue 1$/m.test(await metrics.registry.metrics())).toBe(true);
    expect(events.filter((event) => event.type === 'backup.overdue')).toEqual([
      { v: expect.any(Number), type: 'backup.overdue', lastBackupAtMs: Date.UTC(2026, 11, 4, 12, 1, 30), ageSeconds: 150, boundSeconds: 120, atMs: nowMs },
    ]);
    // A good backup clears it.
    expect(await backups.backupNow()).not.toBeNull();
    expect(await age()).toBe(0);
    expect(backups.overdue).toBe(false);
    metrics.close();
  });
});
