// The crash loop: a paying fleet against the real broker as a child process, which is SIGKILLed
// at seeded random instants and restarted on the same data, over and over; payer agents (each in
// its own process) are SIGKILLed too, some of the time, and restarted at once. Between every kill
// and the restart that follows (the state a restart starts from), and at the end, the ledger is
// checked with the simulator's own verdicts:
//  - the full audit (auditLedger), which includes "nothing settled twice" per channel;
//  - every voucher whose "accepted" reached a payer is settled or pending
//    (simulator/verdict/accepted-check.ts), read from each payer's own SQLite state;
//  - conservation: funded = wallets + escrow + fees, to the micro-unit
//    (simulator/verdict/conservation.ts; there are no payouts yet, docs/DESIGN.md rule 13);
//  - settlement ids unique, no channel settled twice within one settlement, settled <= latest;
//  - no double-signed voucher recorded as evidence (a payer killed inside its reserved block of
//    seqs skips the block on restart, docs/DESIGN.md rule 5).
// Used by test/crash-loop.test.ts (a few kills, in `npm test`) and test/crash/crash-loop.crash.ts
// (`npm run test:crash`, 50 kills and more).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { statePathOf, initAgentHome } from '../../agent/home/home.js';
import { openState } from '../../agent/store/open-state.js';
import { auditLedger } from '../../broker/store/sqlite/audit.js';
import { addDevice } from '../../broker/store/sqlite/devices.js';
import { fundWallet } from '../../broker/store/sqlite/ledger.js';
import { openDatabase } from '../../broker/store/sqlite/open-database.js';
import { parseAmount, type Amount } from '../../shared/amount.js';
import { toHex } from '../../shared/hex.js';
import { generateKeyPair } from '../../shared/keys.js';
import { checkAcceptedSettledOrPending, type PayerView } from '../../simulator/verdict/accepted-check.js';
import { checkConservation } from '../../simulator/verdict/conservation.js';
import { sqliteQuery } from '../../simulator/world/ledger-query.js';
import { buildAgentChild, runAgentChild, type ChildRun } from './agent-child-build.js';
import { random, tempDir } from './broker-fixture.js';
import { freePort, startChildBroker, type ChildBroker } from './child-broker.js';
import { seededInt, seededRandom } from './seed.js';

export interface CrashLoopOptions {
  readonly seed: number;
  readonly kills: number;
  readonly payers?: number;
  /** Share of rounds in which a payer agent is SIGKILLed as well. */
  readonly agentKillShare?: number;
  readonly log?: (line: string) => void;
}

export interface CrashLoopFigures {
  readonly seed: number;
  readonly brokerKills: number;
  readonly agentKills: number;
  readonly checks: number;
  readonly vouchersAccepted: bigint;
  readonly acceptedTotal: bigint;
  readonly settlements: bigint;
  readonly settledTotal: bigint;
  readonly unitsLost: bigint;
}

const FUNDS = '100';
const PROGRESS_TIMEOUT_MS = 20_000;
const SETTLE_TIMEOUT_MS = 20_000;
const OPERATOR_TOKEN = 'crash-loop-operator-token-0123456789';

interface Payer {
  readonly device: string;
  readonly payee: string;
  readonly home: string;
  run: ChildRun;
}

function payerViews(payers: readonly Payer[]): Map<string, PayerView> {
  const views = new Map<string, PayerView>();
  for (const payer of payers) {
    const db = openState(statePathOf(payer.home), { readonly: true });
    try {
      const rows = db.prepare('SELECT id, accepted_total, signed_total FROM payer_channels').all() as { id: Buffer; accepted_total: bigint; signed_total: bigint }[];
      for (const row of rows) views.set(toHex(new Uint8Array(row.id)), { payer: payer.device, acceptedTotal: row.accepted_total, signedTotal: row.signed_total });
    } finally {
      db.close();
    }
  }
  return views;
}

function acceptedCount(payers: readonly Payer[]): bigint {
  let count = 0n;
  for (const payer of payers) {
    const db = openState(statePathOf(payer.home), { readonly: true });
    try {
      // From the channels, not signed_vouchers: the agent prunes old voucher rows.
      count += (db.prepare('SELECT coalesce(sum(accepted_seq), 0) AS n FROM payer_channels').get() as { n: bigint }).n;
    } finally {
      db.close();
    }
  }
  return count;
}

interface Check { readonly problems: string[]; readonly unitsLost: bigint; readonly settlements: bigint; readonly settledTotal: bigint; readonly acceptedTotal: bigint }

/** Every check of the header, on the broker's data while the broker is down. */
async function checkData(dataDir: string, payers: readonly Payer[], funded: ReadonlyMap<string, Amount>, final: boolean): Promise<Check> {
  const views = payerViews(payers);
  const db = openDatabase(dataDir);
  try {
    const problems: string[] = [];
    for (const failed of auditLedger(db).filter((check) => !check.ok)) problems.push(`audit: ${failed.name}: ${failed.detail ?? ''}`);
    const accepted = await checkAcceptedSettledOrPending(sqliteQuery(() => db), views, new Map());
    if (!accepted.ok) problems.push(`accepted_settled_or_pending: ${accepted.detail}`);
    const conservation = await checkConservation(sqliteQuery(() => db), funded);
    if (!conservation.ok) problems.push(`conservation: ${conservation.detail}`);
    // A payer killed inside a reserved block of seqs skips the block on restart: never two totals for one seq.
    const doubleSigned = (db.prepare('SELECT count(*) AS n FROM double_signs').get() as { n: bigint }).n;
    if (doubleSigned > 0n) problems.push(`double-signed vouchers recorded as evidence: ${doubleSigned}`);
    const duplicateIds = db.prepare('SELECT id FROM settlements GROUP BY id HAVING count(*) > 1').all();
    if (duplicateIds.length > 0) problems.push(`settlement ids used twice: ${JSON.stringify(duplicateIds)}`);
    const twice = db.prepare("SELECT settlement, channel FROM transfers WHERE kind = 'settle' GROUP BY settlement, channel HAVING count(*) > 1").all();
    if (twice.length > 0) problems.push(`a channel settled twice in one settlement: ${twice.length}`);
    const channels = db.prepare('SELECT id, latest_total, settled_total FROM channels').all() as { id: Buffer; latest_total: bigint; settled_total: bigint }[];
    let unitsLost = 0n;
    let settledTotal = 0n;
    for (const row of channels) {
      settledTotal += row.settled_total;
      if (row.settled_total > row.latest_total) problems.push(`channel ${toHex(new Uint8Array(row.id)).slice(0, 12)} settled ${row.settled_total} above its latest ${row.latest_total}`);
      if (final && row.settled_total !== row.latest_total) problems.push(`channel ${toHex(new Uint8Array(row.id)).slice(0, 12)} left unsettled at the end: ${row.latest_total - row.settled_total}`);
    }
    const latestOf = new Map(channels.map((row) => [toHex(new Uint8Array(row.id)), row.latest_total]));
    for (const [id, view] of views) {
      const held = latestOf.get(id) ?? 0n;
      if (view.acceptedTotal > held) unitsLost += view.acceptedTotal - held; // told "accepted", not in the ledger
    }
    const settlements = (db.prepare('SELECT count(*) AS n FROM settlements').get() as { n: bigint }).n;
    return { problems, unitsLost, settlements, settledTotal, acceptedTotal: accepted.totals.accepted };
  } finally {
    db.close();
  }
}

const acceptedSeen = new WeakMap<ChildRun, { scanned: number; accepted: number }>();

/** How many "accepted" lines a payer process has printed so far (scanned once each). */
function acceptedLines(run: ChildRun): number {
  const seen = acceptedSeen.get(run) ?? { scanned: 0, accepted: 0 };
  for (; seen.scanned < run.lines.length; seen.scanned++) if ((run.lines[seen.scanned] as string).startsWith('accepted ')) seen.accepted++;
  acceptedSeen.set(run, seen);
  return seen.accepted;
}

/** Resolves when some payer prints a new "accepted" line: the fleet is paying through this broker. */
function nextAccepted(payers: readonly Payer[]): Promise<void> {
  const runs = payers.map((payer) => payer.run);
  const before = runs.map(acceptedLines);
  return new Promise<void>((resolve, reject) => {
    const check = () => {
      if (runs.some((run, i) => acceptedLines(run) > (before[i] as number))) {
        cleanup();
        resolve();
      }
    };
    // The helper's own listener, attached first, has already split the chunk into lines.
    const onData = () => check();
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no payment was accepted within ${PROGRESS_TIMEOUT_MS} ms; last lines: ${runs.map((run) => run.lines.slice(-3).join(' | ')).join(' || ')}`));
    }, PROGRESS_TIMEOUT_MS);
    const cleanup = () => {
      clearTimeout(timer);
      for (const run of runs) run.child.stdout?.off('data', onData);
    };
    for (const run of runs) run.child.stdout?.on('data', onData);
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runCrashLoop(options: CrashLoopOptions): Promise<CrashLoopFigures> {
  const log = options.log ?? (() => undefined);
  const next = seededRandom(options.seed);
  const agentKillShare = options.agentKillShare ?? 0.3;
  const dir = tempDir('mqpay-crash-loop-');
  const dataDir = join(dir.path, 'broker');
  const script = await buildAgentChild();
  const payers: Payer[] = [];
  let broker: ChildBroker | null = null;
  let passed = false;
  try {
    const db = openDatabase(dataDir);
    const funded = new Map<string, Amount>();
    const homes: { device: string; payee: string; home: string }[] = [];
    for (let i = 1; i <= (options.payers ?? 3); i++) {
      const device = `car-${i}`;
      const payee = `shop-${i}`;
      const home = join(dir.path, device);
      // A small deposit, so channels fill up and new ones open across kills too.
      const created = initAgentHome({ home, config: { v: 1, device, brokerId: 'mqpay', channel: { deposit: '0.5' } }, random });
      addDevice(db, device, created.keys.publicKey, Date.now());
      addDevice(db, payee, generateKeyPair(random).publicKey, Date.now());
      fundWallet(db, device, parseAmount(FUNDS), `crash-loop-${device}`, Date.now());
      funded.set(device, parseAmount(FUNDS));
      homes.push({ device, payee, home });
    }
    db.close();
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    const startBroker = () => startChildBroker(['--data', dataDir, '--mqtt-port', String(port), '--epoch-seconds', '1', '--log-level', 'warn', '--operator-token', OPERATOR_TOKEN]);
    const startPayer = (home: string, payee: string) => runAgentChild(script, [home, url, 'pay-loop', payee]);

    broker = await startBroker();
    for (const home of homes) payers.push({ ...home, run: startPayer(home.home, home.payee) });

    let agentKills = 0;
    let checks = 0;
    for (let kill = 1; kill <= options.kills; kill++) {
      await nextAccepted(payers);
      // The kill points: seeded delays after the fleet is seen paying (not synchronisation).
      const victim = next() < agentKillShare ? payers[seededInt(next, 0, payers.length)] : undefined;
      const agentDelay = seededInt(next, 0, 400);
      const brokerDelay = seededInt(next, 0, 1_500); // past the 1-second epoch, so some kills land in a settlement
      if (victim !== undefined) {
        await pause(agentDelay);
        victim.run.child.kill('SIGKILL');
        await victim.run.exited;
        agentKills += 1;
      }
      await pause(brokerDelay);
      await broker.kill('SIGKILL');
      broker = null;
      const check = await checkData(dataDir, payers, funded, false);
      checks += 1;
      if (check.problems.length > 0 || check.unitsLost !== 0n) throw new Error(`crash loop seed ${options.seed}, after kill ${kill}: ${check.problems.join('; ')} (units lost ${check.unitsLost})`);
      log(`kill ${kill}/${options.kills}: broker${victim === undefined ? '' : ` and ${victim.device}`} killed after ${brokerDelay} ms; ledger checks hold; settlements ${check.settlements}, settled ${check.settledTotal}, accepted ${check.acceptedTotal}`);
      if (victim !== undefined) victim.run = startPayer(victim.home, victim.payee); // restarted at once, while the broker is down
      broker = await startBroker();
    }

    // The end: the fleet pays once more through the last broker, stops, and everything settles.
    await nextAccepted(payers);
    for (const payer of payers) {
      payer.run.child.kill('SIGKILL');
      await payer.run.exited;
    }
    const watcher = openDatabase(dataDir);
    try {
      const unsettled = () => (watcher.prepare('SELECT count(*) AS n FROM channels WHERE settled_total <> latest_total').get() as { n: bigint }).n;
      const deadline = Date.now() + SETTLE_TIMEOUT_MS;
      // The 1-second epochs settle what is pending; polled on the ledger itself.
      while (unsettled() > 0n) {
        if (Date.now() > deadline) throw new Error(`crash loop seed ${options.seed}: ${unsettled()} channels still unsettled after ${SETTLE_TIMEOUT_MS} ms`);
        await pause(50);
      }
    } finally {
      watcher.close();
    }
    await broker.kill('SIGTERM');
    broker = null;
    const last = await checkData(dataDir, payers, funded, true);
    checks += 1;
    if (last.problems.length > 0 || last.unitsLost !== 0n) throw new Error(`crash loop seed ${options.seed}, at the end: ${last.problems.join('; ')} (units lost ${last.unitsLost})`);
    passed = true;
    return {
      seed: options.seed, brokerKills: options.kills, agentKills, checks, vouchersAccepted: acceptedCount(payers), acceptedTotal: last.acceptedTotal,
      settlements: last.settlements, settledTotal: last.settledTotal, unitsLost: last.unitsLost,
    };
  } finally {
    for (const payer of payers) {
      if (payer.run.child.exitCode === null && payer.run.child.signalCode === null) {
        payer.run.child.kill('SIGKILL');
        await payer.run.exited;
      }
    }
    await broker?.kill('SIGKILL');
    rmSync(script, { force: true });
    if (passed) dir.remove();
    else log(`crash loop seed ${options.seed}: data kept in ${dir.path}`);
  }
}
