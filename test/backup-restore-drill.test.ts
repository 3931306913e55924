// The disaster-recovery drill, end to end: a fleet of real agents pays through a real broker
// (a child process, so it can die like a machine); a backup is taken; the fleet keeps paying
// (one payer opens its first channel only after the backup, funded after the backup too); the
// broker is SIGKILLed and its data directory deleted; the ledger is restored from the backup;
// the broker starts again and the agents reconnect by themselves. Then every payment whose
// "accepted" reached a payer is back in the ledger, handed back by the devices; the channel
// opened after the backup waits (retryably refused) until the operator replays the funding the
// restore listed; settlement catches up; the audit holds; and funding equals wallets + escrow +
// fees. Waits are on the ledger's state with a bound (expect.poll), never a sleep.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAgent } from '../agent/agent.js';
import type { Agent } from '../agent/agent-api.js';
import { initAgentHome } from '../agent/home/home.js';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { addDevice } from '../broker/store/sqlite/devices.js';
import { fundWallet } from '../broker/store/sqlite/ledger.js';
import { openDatabase, type Db } from '../broker/store/sqlite/open-database.js';
import { ledgerTotals } from '../broker/store/sqlite/operator-reads.js';
import { loadOrCreateServiceKey } from '../broker/service-key.js';
import { parseAmount, type Amount } from '../shared/amount.js';
import { channelIdFromHex } from '../shared/ids.js';
import { toHex } from '../shared/hex.js';
import { TEST_AGENT_TIMING } from './helpers/agent-fixture.js';
import { random, tempDir } from './helpers/broker-fixture.js';
import { freePort, startChildBroker, type ChildBroker } from './helpers/child-broker.js';
import { runCli } from './helpers/ops-cli.js';

const TOKEN = 'drill-operator-token-0123456789';
const PAYERS = ['car-1', 'car-2'] as const;
const LATE_PAYER = 'car-3';
const PAYEES = ['charger-1', 'charger-2'] as const;
const HEAL_BOUND = { timeout: 30_000, interval: 100 } as const;

/** Reads the ledger file the broker writes (WAL: safe beside it). */
function withLedger<T>(dataDir: string, read: (db: Db) => T): T {
  const db = openDatabase(dataDir, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

describe('backup, disaster and restore: the devices heal the ledger', () => {
  const root = tempDir('mqpay-drill-');
  const dataDir = join(root.path, 'data');
  const backupDir = join(root.path, 'backups');
  const backupFile = join(backupDir, 'manual.db');
  const agents: Agent[] = [];
  let broker: ChildBroker | null = null;
  let mqttPort = 0;
  let httpPort = 0;
  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.stop().catch(() => undefined)));
    await broker?.kill('SIGKILL');
    root.remove();
  });

  const startBroker = async () => {
    broker = await startChildBroker(['--data', dataDir, '--mqtt-port', String(mqttPort), '--http-port', String(httpPort), '--epoch-seconds', '1', '--backup-dir', backupDir, '--log-level', 'warn', '--operator-token', TOKEN]);
  };

  /** Accepted payments as the payers were told: channel -> highest accepted total. */
  const accepted = new Map<string, Amount>();
  const pay = async (agent: Agent, payee: string, amount: string) => {
    const payment = await agent.pay(payee, amount);
    const before = accepted.get(payment.channel) ?? 0n;
    if (payment.total > before) accepted.set(payment.channel, payment.total);
  };
  const payRound = async (payers: readonly string[], rounds: number) => {
    for (let round = 0; round < rounds; round++) {
      await Promise.all(payers.map((payer, index) => pay(agents[index] as Agent, PAYEES[(index + round) % PAYEES.length] as string, '0.25')));
    }
  };

  it('brings back every accepted payment after a restore, with the operator replaying the listed fundings', async () => {
    [mqttPort, httpPort] = [await freePort(), await freePort()];
    const db = openDatabase(dataDir);
    const serviceKey = loadOrCreateServiceKey(dataDir, random);
    const homes = new Map<string, string>();
    for (const device of [...PAYERS, LATE_PAYER, ...PAYEES]) {
      const home = join(root.path, 'homes', device);
      const created = initAgentHome({ home, random, config: { v: 1, device, brokerId: 'mqpay', servicePublicKey: toHex(serviceKey.publicKey), channel: { deposit: '20' } } });
      addDevice(db, device, created.keys.publicKey, Date.now());
      homes.set(device, home);
    }
    for (const payer of PAYERS) fundWallet(db, payer, parseAmount('50'), `initial-${payer}`, Date.now());
    db.close();
    await startBroker();
    for (const device of [...PAYERS, LATE_PAYER, ...PAYEES]) {
      agents.push(await createAgent({ home: homes.get(device) as string, brokerUrl: `mqtt://127.0.0.1:${mqttPort}`, ...TEST_AGENT_TIMING }));
    }

    // The fleet pays; a backup is taken while the broker runs; the fleet keeps paying.
    await payRound(PAYERS, 6);
    const backup = await runCli(['ledger', 'backup', '--data', dataDir, '--to', backupFile]);
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    expect(backup.stdout).toMatch(/checks hold/);
    await payRound(PAYERS, 6);
    // car-3 is funded and opens its first channel only after the backup.
    const funding = await runCli(['wallet', 'fund', LATE_PAYER, '30', '--id', 'late-funding-1', '--data', dataDir]);
    expect(funding.code).toBe(0);
    const lateAgent = agents[PAYERS.length] as Agent;
    for (let i = 0; i < 4; i++) await pay(lateAgent, 'charger-1', '0.5');
    expect(accepted.size).toBe(PAYERS.length * PAYEES.length + 1);

    // Disaster: the machine dies and the data directory is gone.
    await broker?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });

    // Restore: refuses nothing here (the directory is gone), records the restore, lists the funding.
    const restore = await runCli(['ledger', 'restore', '--from', backupFile, '--data', dataDir]);
    expect(restore.stderr).toBe('');
    expect(restore.code).toBe(0);
    const replay = restore.stdout.split('\n').map((line) => line.trim()).filter((line) => line.startsWith('mqpay wallet fund'));
    expect(replay).toEqual([expect.stringContaining(`mqpay wallet fund ${LATE_PAYER} 30 --id late-funding-1 --data ${dataDir}`)]);
    await startBroker();

    // The agents reconnect by themselves and hand back what the backup lacks.
    const behind = () => withLedger(dataDir, (ledger) => [...accepted].filter(([hex, total]) => (getChannel(ledger, channelIdFromHex(hex))?.latestTotal ?? -1n) < total).map(([hex]) => hex));
    // All but car-3's channel come back on their own; car-3's waits for its funding.
    await expect.poll(() => behind().length, HEAL_BOUND).toBe(1);
    // car-3 pays again before its funding is replayed: the service answers CHANNEL_UNKNOWN for a
    // channel it certified, which the agent does not take as final (it hands the channel back
    // and re-sends once the service has it), so the payment is accepted after the replay.
    const waiting = await lateAgent.sign('charger-1', '0.5');
    const restoreView = await (await fetch(`http://127.0.0.1:${httpPort}/api/ledger/restore`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as { restored: { healed: { channels: number; created: number }; backupStartedAtMs: number } };
    expect(restoreView.restored.healed.channels).toBeGreaterThanOrEqual(1);

    // The operator replays the listed funding (twice: the same key moves nothing the second time).
    for (let time = 0; time < 2; time++) {
      const args = (replay[0] as string).split('#')[0]?.trim().split(/\s+/).slice(1) ?? [];
      const replayed = await runCli(args);
      expect(replayed.stderr).toBe('');
      expect(replayed.stdout).toMatch(time === 0 ? /^funded car-3 with 30/ : /^already funded \(same id\)/);
    }
    await expect.poll(() => behind(), HEAL_BOUND).toEqual([]);
    await waiting.accepted;
    accepted.set(waiting.channel, waiting.total);
    await expect.poll(() => behind(), HEAL_BOUND).toEqual([]);

    // Settlement catches up; the audit holds; funding = wallets + escrow + fees.
    const unsettled = () => withLedger(dataDir, (ledger) => [...accepted.keys()].filter((hex) => {
      const row = getChannel(ledger, channelIdFromHex(hex));
      return row === null || row.settledTotal < row.latestTotal;
    }).length);
    await expect.poll(unsettled, HEAL_BOUND).toBe(0);
    withLedger(dataDir, (ledger) => {
      expect(auditLedger(ledger).filter((check) => !check.ok)).toEqual([]);
      const totals = ledgerTotals(ledger);
      expect(-totals.external.balance).toBe(parseAmount('130'));
      expect(totals.wallet.balance + totals.escrow.balance + totals.fees.balance).toBe(-totals.external.balance);
    });
    const healedView = await (await fetch(`http://127.0.0.1:${httpPort}/api/ledger/restore`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as { restored: { healed: { channels: number; created: number; amount: string } } };
    expect(healedView.restored.healed.created).toBe(1);
    expect(healedView.restored.healed.channels).toBeGreaterThanOrEqual(PAYERS.length * PAYEES.length + 1);
  }, 120_000);
});
