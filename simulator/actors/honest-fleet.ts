// The honest part of the fleet: one real agent (own key, own SQLite state, own MQTT
// connection through the fault proxy) per device, sellers advertising and getting paid,
// buyers working through their schedules.
import { createAgent, type Agent, type AgentLogger, type AgentStatus } from '../../agent/index.js';
import type { SellerPlan } from '../plan/fleet.js';
import type { Enrolment } from '../world/enrolment.js';
import type { SimClock } from '../world/sim-clock.js';
import { runBuyer, type RunContext } from './buyer.js';
import { codeOf, type SimMetrics } from './metrics.js';

/** Agent timings for a fleet on one machine: patient enough to ride out a broker restart. */
export const SIM_AGENT_TIMING = {
  requestTimeoutMs: 8_000,
  paymentTimeoutMs: 20_000,
  resendIntervalMs: 2_000,
  reconnectPeriodMs: 300,
  reconnectPeriodMaxMs: 3_000,
  keepaliveSeconds: 30,
  connectWaitMs: 10_000,
} as const;
/** Agents started at once; a few dozen keep the broker's CONNECT queue short. */
const START_CONCURRENCY = 25;
const DRAIN_POLL_MS = 250;

/** Counts what agents log as errors and warnings (the fleet's agents log nothing else). */
export function countingLogger(metrics: SimMetrics): AgentLogger {
  const ignore = () => undefined;
  return { debug: ignore, info: ignore, warn: (_f, message) => metrics.agentWarnings.add(message), error: (_f, message) => metrics.agentErrors.add(message) };
}

/**
 * An honest seller: a real agent that advertises its price as an offer signed with its device
 * key (the agent keeps it and signs and sends it again after every reconnect, so a restarted
 * broker serves it again) and counts what it is paid. A charger turns money into energy at its
 * price: what it delivered is what it was paid for.
 */
function runSeller(agent: Agent, seller: SellerPlan, metrics: SimMetrics, clock: SimClock): () => void {
  agent.offer({ unit: seller.offer.unit, price: seller.offer.price }).catch((error: unknown) => {
    // Offline now: the agent kept the offer and sends it when the link is back.
    if (codeOf(error) !== 'SERVICE_UNAVAILABLE') metrics.agentErrors.add(`offer ${codeOf(error)}`);
  });
  const offPayment = agent.onPayment((payment) => metrics.sale(seller, payment.amount, clock.nowMs()));
  return offPayment;
}

export class HonestFleet {
  readonly agents = new Map<string, Agent>();
  private readonly detach: (() => void)[] = [];
  private readonly buyers: Promise<void>[] = [];

  constructor(private readonly metrics: SimMetrics) {}

  async start(enrolment: Enrolment, brokerUrlOf: (device: string) => string, brokerId: string): Promise<void> {
    const homes = [...enrolment.homes];
    const logger = countingLogger(this.metrics);
    for (let i = 0; i < homes.length; i += START_CONCURRENCY) {
      await Promise.all(homes.slice(i, i + START_CONCURRENCY).map(async ([device, home]) => {
        this.agents.set(device, await createAgent({ home, brokerUrl: brokerUrlOf(device), brokerId, logger, ...SIM_AGENT_TIMING }));
      }));
    }
  }

  /** Sellers start advertising and counting sales; buyers start their schedules. */
  run(ctx: RunContext): void {
    for (const [device, agent] of this.agents) {
      const plan = ctx.plan.fleet.byId.get(device);
      if (plan?.role === 'seller') this.detach.push(runSeller(agent, plan, ctx.metrics, ctx.clock));
      if (plan?.role === 'buyer') this.buyers.push(runBuyer(agent, plan, ctx).catch((error: unknown) => ctx.metrics.agentErrors.add(`buyer stopped: ${(error as Error).message}`)));
    }
  }

  online(): number {
    let count = 0;
    for (const agent of this.agents.values()) if (agent.connected) count += 1;
    return count;
  }

  pendingVouchers(): number {
    let count = 0;
    for (const agent of this.agents.values()) count += agent.channels().pendingVouchers;
    return count;
  }

  /** After the run stopped: waits for buyers to finish and every stored voucher to be answered. */
  async drain(clock: SimClock, timeoutMs: number): Promise<number> {
    const deadline = clock.nowMs() + timeoutMs;
    const stop = new AbortController();
    await Promise.race([Promise.all(this.buyers), clock.sleep(timeoutMs, stop.signal)]);
    stop.abort();
    let pending = this.pendingVouchers();
    while (pending > 0 && clock.nowMs() < deadline) {
      await clock.sleep(DRAIN_POLL_MS);
      pending = this.pendingVouchers();
    }
    return pending;
  }

  /** What every agent knows locally: its channels, signed and accepted totals. */
  snapshot(): Map<string, AgentStatus> {
    return new Map([...this.agents].map(([device, agent]) => [device, agent.channels()]));
  }

  async stop(): Promise<void> {
    for (const detach of this.detach) detach();
    await Promise.all([...this.agents.values()].map((agent) => agent.stop().catch(() => undefined)));
  }
}
