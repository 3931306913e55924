// An honest seller: a real agent that advertises its price (again after every reconnect, since
// a restarted broker has forgotten retained offers) and counts what it is paid. A charger
// turns money into energy at its price: what it delivered is what it was paid for.
import type { Agent } from '../../agent/index.js';
import type { SellerPlan } from '../plan/fleet.js';
import { codeOf, type SimMetrics } from './metrics.js';
import type { SimClock } from '../world/sim-clock.js';

export function runSeller(agent: Agent, seller: SellerPlan, metrics: SimMetrics, clock: SimClock): () => void {
  const advertise = () => {
    agent.offer({ unit: seller.offer.unit, price: seller.offer.price }).catch((error: unknown) => metrics.agentErrors.add(`offer ${codeOf(error)}`));
  };
  if (agent.connected) advertise();
  const offConnection = agent.onConnection((up) => {
    if (up) advertise();
  });
  const offPayment = agent.onPayment((payment) => metrics.sale(seller, payment.amount, clock.nowMs()));
  return () => {
    offConnection();
    offPayment();
  };
}
