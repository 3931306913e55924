// The human summary printed at the end of a run: what the fleet bought and sold, the faults,
// the attacks, the settlements, and each invariant with its evidence.
import { table } from '../../cli/table.js';
import { formatAmount, ZERO } from '../../shared/amount.js';
import { SELLER_KINDS } from '../plan/kinds.js';
import { attackSummary, runSucceeded, type RunFacts } from './report.js';

/** Energy a charger delivered: what it was paid over its price per Wh (whole Wh). */
function energyWh(facts: RunFacts): bigint {
  let wh = 0n;
  for (const device of facts.plan.fleet.devices) {
    if (device.role !== 'seller' || device.kind !== 'ev-charger') continue;
    wh += (facts.metrics.paidTo.get(device.id) ?? ZERO) / device.offer.price;
  }
  return wh;
}

function salesTable(facts: RunFacts): string {
  const rows = SELLER_KINDS.map((kind) => {
    const sales = facts.metrics.sales.get(kind);
    const devices = facts.plan.fleet.devices.filter((d) => d.role === 'seller' && d.kind === kind).length;
    return [kind, String(devices), String(sales?.payments ?? 0), formatAmount(sales?.amount ?? ZERO)];
  });
  return table(['seller kind', 'devices', 'payments received', 'amount'], rows);
}

function totalsTable(facts: RunFacts): string {
  const { vouchers, metrics } = facts;
  const attacks = attackSummary(facts.attacks);
  const perSecond = (vouchers.accepted / Math.max(facts.elapsedMs / 1000, 0.001)).toFixed(1);
  return table(['', 'figures'], [
    ['vouchers', `${vouchers.sent} sent, ${vouchers.accepted} accepted (${perSecond}/s), ${vouchers.rejected} rejected, ${vouchers.duplicates} replays answered as duplicates, ${vouchers.unconfirmed} unanswered`],
    ['', `of these, ${vouchers.hostile} hostile: ${vouchers.hostileRefused} without effect, ${vouchers.hostile - vouchers.hostileRefused} with`],
    ['sessions', `${metrics.streamsStarted} charging/parking streams (${metrics.streamsCompleted} completed), ${metrics.paymentsSigned} one-off payments, ${metrics.receiptsReceived} toll receipts`],
    ['energy', `${energyWh(facts)} Wh sold by EV chargers`],
    ['faults', `${metrics.brokerKills} broker kills, ${metrics.workerKills} worker kills, ${metrics.nodeStops} node stops, ${metrics.postgresRestarts} PostgreSQL restarts, ${metrics.drops} dropped connections`],
    ['attacks', `${attacks.tried} tried, ${attacks.rejected} rejected, ${attacks.interrupted} interrupted by a restart, ${attacks.skipped} not applicable`],
    ['settlements', `${facts.settlements.count} settlements, ${formatAmount(facts.settlements.amount)} settled (final: ${facts.settlements.final.amount})`],
    ['broker', `logged ${facts.broker.aclViolationsLogged} ACL violations, ${facts.broker.refusalsLogged} refused connections, ${facts.broker.errorsLogged} errors`],
  ]);
}

function invariantsTable(facts: RunFacts): string {
  const { ledger, conservation, accepted } = facts.invariants;
  const attacks = attackSummary(facts.attacks);
  const mark = (ok: boolean) => (ok ? 'ok' : 'FAIL');
  return table(['invariant', 'result', 'evidence'], [
    ['ledger', mark(ledger.ok), ledger.detail],
    ['conservation', mark(conservation.ok), conservation.detail],
    ['accepted_settled_or_pending', mark(accepted.ok), accepted.detail],
    ['attacks rejected', mark(attacks.rejected === attacks.tried), attacks.failures.map((f) => `${f.rogue} ${f.kind}: ${f.observed}`).join('; ') || `${attacks.rejected} of ${attacks.tried}`],
  ]);
}

export function summaryText(facts: RunFacts, title = 'mqpay sim'): string {
  const { options } = facts.plan;
  const head = `${title}: seed ${options.seed}, ${options.devices} devices (${facts.plan.honestIds.length} honest, ${facts.plan.rogueIds.length} rogue), ${(facts.elapsedMs / 1000).toFixed(1)} s`;
  const verdict = runSucceeded(facts) ? 'PASS: every invariant holds and every attack was rejected' : 'FAIL: see above';
  return [head, '', salesTable(facts), '', totalsTable(facts), '', invariantsTable(facts), '', verdict].join('\n');
}
