// The verdict on a run, after the broker has stopped: the settlement service settles what is
// left, then the ledger audit, conservation, and the accepted-settled-or-pending check against
// what every device recorded.
import { pino } from 'pino';
import type { AgentStatus } from '../../agent/index.js';
import { createBrokerApp } from '../../broker/app.js';
import { auditLedger, type AuditCheck } from '../../broker/store/sqlite/audit.js';
import { openDatabase } from '../../broker/store/sqlite/open-database.js';
import { amountOf, formatAmount, type Amount } from '../../shared/amount.js';
import type { RogueDevice } from '../actors/rogue-device.js';
import { bigintOf, sqliteQuery, type LedgerQuery } from '../world/ledger-query.js';
import type { World } from '../world/sim-world.js';
import { checkAcceptedSettledOrPending } from './accepted-check.js';
import { checkConservation } from './conservation.js';
import { payeeViews, payerViews } from './voucher-counts.js';

export type Snapshots = ReadonlyMap<string, AgentStatus>;
export type Verdict = Awaited<ReturnType<typeof judgeLedger>>;

export interface FinalSettlement {
  readonly id: string | null;
  readonly channels: number;
  readonly amount: string;
}

/**
 * The last settlement of a run, made by the settlement service itself: after the broker process
 * has stopped cleanly, the broker application is opened in-process on the same data directory
 * (not listening) and asked to settle now, exactly as an operator's "settle now" would.
 */
async function settleFinally(dataDir: string, operatorToken: string): Promise<FinalSettlement> {
  const app = await createBrokerApp({ dataDir, operatorToken, mqttPort: 0, logLevel: 'silent' }, { logger: pino({ level: 'silent' }) });
  try {
    const outcome = await app.service.settleNow();
    if (outcome.kind !== 'settled') return { id: null, channels: 0, amount: '0' };
    const { result } = outcome;
    return { id: result.id, channels: result.channelCount, amount: formatAmount(result.amount) };
  } finally {
    await app.close();
  }
}

/** The end checks on a settled ledger, whichever store holds it. */
export async function judgeLedger(query: LedgerQuery, checks: readonly AuditCheck[], funded: ReadonlyMap<string, Amount>, views: { rogues: readonly RogueDevice[]; snapshots: Snapshots }, final: FinalSettlement) {
  const failed = checks.filter((check) => !check.ok);
  const ledger = { ok: failed.length === 0, detail: failed.length === 0 ? `${checks.length} audit checks hold` : failed.map((c) => `${c.name}: ${c.detail}`).join('; ') };
  const conservation = await checkConservation(query, funded);
  const accepted = await checkAcceptedSettledOrPending(query, payerViews(views.snapshots, views.rogues), payeeViews(views.snapshots));
  const [row] = await query('SELECT count(*) AS n, COALESCE(SUM(amount), 0) AS amount FROM settlements');
  return { final, ledger, conservation, accepted, settlements: { count: Number(bigintOf(row?.n ?? 0)), amount: amountOf(bigintOf(row?.amount ?? 0)), final } };
}

export async function reachVerdict(world: World, rogues: readonly RogueDevice[], snapshots: Snapshots): Promise<Verdict> {
  const final = await settleFinally(world.dataDir, world.operatorToken);
  const db = openDatabase(world.dataDir);
  try {
    return await judgeLedger(sqliteQuery(() => db), auditLedger(db), world.enrolment.funded, { rogues, snapshots }, final);
  } finally {
    db.close();
  }
}
