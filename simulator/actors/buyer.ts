// An honest buyer: a real agent working through its planned actions. One-off payments are
// signed and followed to the service's verdict (and the seller's receipt at toll gates);
// charging and parking stream payment for as long as the session lasts. A session that fails
// (the broker is down too long, the wallet is empty) is counted and the buyer moves on.
import type { Agent } from '../../agent/index.js';
import type { PayAction, StreamAction } from '../plan/behaviour.js';
import type { BuyerPlan } from '../plan/fleet.js';
import type { SimPlan } from '../plan/plan.js';
import { sleepUntil, within, type SimClock } from '../world/sim-clock.js';
import { codeOf, type SimMetrics } from './metrics.js';

/** How long a buyer waits for a verdict (or receipt) before moving on; the agent keeps re-sending. */
export const PAYMENT_WAIT_MS = 15_000;

export interface RunContext {
  readonly plan: SimPlan;
  readonly metrics: SimMetrics;
  readonly clock: SimClock;
  /** When the run's schedule starts (clock ms). */
  readonly startMs: number;
  /** Aborted when the run stops taking new actions. */
  readonly signal: AbortSignal;
}

async function pay(agent: Agent, action: PayAction, ctx: RunContext): Promise<void> {
  const { metrics, clock } = ctx;
  let signed;
  try {
    signed = await agent.sign(action.seller, action.amount, { memo: action.memo });
  } catch (error) {
    metrics.paymentsNotSigned.add(codeOf(error));
    return;
  }
  metrics.paymentsSigned += 1;
  const verdict = signed.accepted.then(
    () => {
      metrics.paymentsAccepted += 1;
    },
    (error: unknown) => metrics.paymentsRejected.add(codeOf(error)),
  );
  if (!action.receipt) {
    await within(clock, verdict, PAYMENT_WAIT_MS, undefined);
    return;
  }
  const receipt = await within(clock, signed.waitForReceipt().then(() => 'ok', codeOf), PAYMENT_WAIT_MS, 'TIMEOUT');
  if (receipt === 'ok') metrics.receiptsReceived += 1;
  else metrics.receiptsMissing.add(receipt);
}

async function stream(agent: Agent, action: StreamAction, ctx: RunContext): Promise<void> {
  const { metrics } = ctx;
  let session;
  try {
    session = agent.stream(action.seller, { amountPerSecond: action.amountPerSecond, intervalMs: action.intervalMs, memo: action.purpose });
  } catch (error) {
    metrics.streamsInterrupted.add(codeOf(error));
    return;
  }
  metrics.streamsStarted += 1;
  const stop = new AbortController();
  const cancel = () => stop.abort();
  ctx.signal.addEventListener('abort', cancel, { once: true });
  await Promise.race([session.done, ctx.clock.sleep(action.durationMs, stop.signal)]);
  ctx.signal.removeEventListener('abort', cancel);
  stop.abort();
  const summary = await session.stop();
  if (summary.error === null) metrics.streamsCompleted += 1;
  else metrics.streamsInterrupted.add(codeOf(summary.error));
}

/** Works through the buyer's schedule until the run stops or the schedule passes its end. */
export async function runBuyer(agent: Agent, buyer: BuyerPlan, ctx: RunContext): Promise<void> {
  const actions = ctx.plan.actions(buyer.id);
  for (let next = actions.next(); next.done !== true; next = actions.next()) {
    const action = next.value;
    if (action.atMs >= ctx.plan.options.durationMs) return;
    await sleepUntil(ctx.clock, ctx.startMs + action.atMs, ctx.signal);
    if (ctx.signal.aborted) return;
    if (action.kind === 'pay') await pay(agent, action, ctx);
    else await stream(agent, action, ctx);
  }
}
