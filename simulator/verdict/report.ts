// The run's JSON report (`--report FILE`). Amounts are decimal strings, invariants booleans;
// `ok` is what the exit code says.
import { formatAmount, type Amount } from '../../shared/amount.js';
import type { SimMetrics } from '../actors/metrics.js';
import type { AttackOutcome } from '../attacks/attack.js';
import type { SimPlan } from '../plan/plan.js';
import type { AcceptedTotals } from './accepted-check.js';
import type { CheckResult } from './conservation.js';
import type { FinalSettlement } from './verdict.js';
import type { VoucherCounts } from './voucher-counts.js';

export interface RunFacts {
  readonly plan: SimPlan;
  readonly elapsedMs: number;
  readonly metrics: SimMetrics;
  readonly vouchers: VoucherCounts;
  readonly attacks: readonly AttackOutcome[];
  readonly settlements: { readonly count: number; readonly amount: Amount; readonly final: FinalSettlement };
  readonly funded: Amount;
  readonly invariants: { readonly ledger: CheckResult; readonly conservation: CheckResult; readonly accepted: CheckResult & { totals: AcceptedTotals } };
  readonly broker: { readonly restarts: number; readonly unexpectedExits: number; readonly aclViolationsLogged: number; readonly refusalsLogged: number; readonly errorsLogged: number; readonly rssPeakBytes: number | null };
  readonly pendingAfterDrain: number;
  readonly peakVouchersPerSecond: number;
  readonly dataDir: string;
}

export function attackSummary(attacks: readonly AttackOutcome[]) {
  const tried = attacks.filter((a) => a.status === 'rejected' || a.status === 'succeeded' || a.status === 'unanswered');
  const byKind: Record<string, { tried: number; rejected: number }> = {};
  for (const attack of tried) {
    const entry = (byKind[attack.kind] ??= { tried: 0, rejected: 0 });
    entry.tried += 1;
    if (attack.status === 'rejected') entry.rejected += 1;
  }
  return {
    tried: tried.length,
    rejected: tried.filter((a) => a.status === 'rejected').length,
    interrupted: attacks.filter((a) => a.status === 'interrupted').length,
    skipped: attacks.filter((a) => a.status === 'skipped').length,
    by_kind: Object.fromEntries(Object.entries(byKind).sort(([a], [b]) => a.localeCompare(b))),
    failures: tried.filter((a) => a.status !== 'rejected').map((a) => ({ kind: a.kind, rogue: a.rogue, status: a.status, expected: a.expected, observed: a.observed })),
  };
}

/** Exit status of the run: every invariant holds, every attack tried was rejected, the broker never died on its own. */
export function runSucceeded(facts: RunFacts): boolean {
  const attacks = attackSummary(facts.attacks);
  const { ledger, conservation, accepted } = facts.invariants;
  return ledger.ok && conservation.ok && accepted.ok && attacks.rejected === attacks.tried && facts.broker.unexpectedExits === 0;
}

export function buildReport(facts: RunFacts): Record<string, unknown> {
  const { plan, metrics, invariants } = facts;
  const durationS = facts.elapsedMs / 1000;
  return {
    seed: plan.options.seed,
    devices: plan.options.devices,
    duration_s: Math.round(durationS * 10) / 10,
    fleet: { honest: plan.honestIds.length, malicious: plan.rogueIds.length, kinds: kindsOf(plan) },
    faults: { kill_broker_every_s: plan.options.killBrokerEverySeconds, broker_kills: metrics.brokerKills, kill_worker_every_s: plan.options.killWorkerEverySeconds ?? null, worker_kills: metrics.workerKills,
      stop_node_every_s: plan.options.stopNodeEverySeconds ?? null, node_stops: metrics.nodeStops, restart_postgres_every_s: plan.options.restartPostgresEverySeconds ?? null, postgres_restarts: metrics.postgresRestarts, drop_rate: plan.options.dropRate, drops: metrics.drops },
    vouchers: {
      sent: facts.vouchers.sent, accepted: facts.vouchers.accepted, rejected: facts.vouchers.rejected, duplicates: facts.vouchers.duplicates, unconfirmed: facts.vouchers.unconfirmed,
      hostile: facts.vouchers.hostile, hostile_refused: facts.vouchers.hostileRefused, per_second: Math.round((facts.vouchers.accepted / Math.max(durationS, 0.001)) * 10) / 10, peak_per_second: Math.round(facts.peakVouchersPerSecond) },
    payments: {
      signed: metrics.paymentsSigned, accepted: metrics.paymentsAccepted, rejected: metrics.paymentsRejected.toJSON(), not_signed: metrics.paymentsNotSigned.toJSON(),
      receipts: metrics.receiptsReceived, receipts_missing: metrics.receiptsMissing.toJSON(),
      streams: { started: metrics.streamsStarted, completed: metrics.streamsCompleted, interrupted: metrics.streamsInterrupted.toJSON() },
    },
    sales: Object.fromEntries([...metrics.sales].map(([kind, sales]) => [kind, { payments: sales.payments, amount: formatAmount(sales.amount) }])),
    attacks: attackSummary(facts.attacks),
    settlements: { count: facts.settlements.count, amount: formatAmount(facts.settlements.amount), final: facts.settlements.final },
    amounts: { funded: formatAmount(facts.funded), accepted: formatAmount(invariants.accepted.totals.accepted), settled: formatAmount(invariants.accepted.totals.settled), pending: formatAmount(invariants.accepted.totals.pending) },
    invariants: {
      ledger: invariants.ledger.ok, conservation: invariants.conservation.ok, accepted_settled_or_pending: invariants.accepted.ok,
      details: { ledger: invariants.ledger.detail, conservation: invariants.conservation.detail, accepted_settled_or_pending: invariants.accepted.detail },
    },
    broker: {
      restarts: facts.broker.restarts, unexpected_exits: facts.broker.unexpectedExits, acl_violations_logged: facts.broker.aclViolationsLogged,
      connection_refusals_logged: facts.broker.refusalsLogged, errors_logged: facts.broker.errorsLogged, rss_peak_bytes: facts.broker.rssPeakBytes,
    },
    agents: { pending_vouchers_after_drain: facts.pendingAfterDrain, errors: metrics.agentErrors.toJSON(), warnings: metrics.agentWarnings.toJSON() },
    data_dir: facts.dataDir,
    ok: runSucceeded(facts),
  };
}

function kindsOf(plan: SimPlan): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const device of plan.fleet.devices) {
    const key = device.role === 'rogue' ? 'rogue-sensor' : device.kind;
    kinds[key] = (kinds[key] ?? 0) + 1;
  }
  return kinds;
}
