// The verdict on a run, after the broker has stopped: the settlement service settles what is
// left, then the ledger audit, conservation, and the accepted-settled-or-pending check against
// what every device recorded.
import { auditLedger } from '../../broker/store/audit.js';
import { openDatabase } from '../../broker/store/open-database.js';
import { statement } from '../../sqlite/statement.js';
import { amountOf } from '../../shared/amount.js';
import type { AgentStatus } from '../../agent/index.js';
import { checkAcceptedSettledOrPending } from './accepted-check.js';
import { checkConservation } from './conservation.js';
import type { Devices } from '../run/devices.js';
import { settleFinally } from './final-settlement.js';
import type { World } from '../world/sim-world.js';
import { payeeViews, payerViews } from './voucher-counts.js';

export type Snapshots = ReadonlyMap<string, AgentStatus>;
export type Verdict = Awaited<ReturnType<typeof reachVerdict>>;

export async function reachVerdict(world: World, devices: Devices, snapshots: Snapshots) {
  const final = await settleFinally(world.dataDir, world.operatorToken);
  const db = openDatabase(world.dataDir);
  try {
    const checks = auditLedger(db);
    const failed = checks.filter((check) => !check.ok);
    const ledger = { ok: failed.length === 0, detail: failed.length === 0 ? `${checks.length} audit checks hold` : failed.map((c) => `${c.name}: ${c.detail}`).join('; ') };
    const conservation = checkConservation(db, world.enrolment.funded);
    const accepted = checkAcceptedSettledOrPending(db, payerViews(snapshots, devices.rogues), payeeViews(snapshots));
    const row = statement(db, 'SELECT count(*) AS n, COALESCE(SUM(amount), 0) AS amount FROM settlements').get() as { n: bigint; amount: bigint };
    return { final, ledger, conservation, accepted, settlements: { count: Number(row.n), amount: amountOf(row.amount), final } };
  } finally {
    db.close();
  }
}
