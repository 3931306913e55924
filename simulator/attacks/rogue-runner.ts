// Runs one rogue device through its planned attacks. Before each attack it makes an honest-
// looking payment (so its channel has fresh, accepted vouchers to abuse); an attack that a
// broker restart overlapped and that was not clearly refused is counted as interrupted, not
// as tried: a refusal must come from the service, never from a crash.
import { codeOf } from '../actors/metrics.js';
import type { AttackKind, PlannedAttack } from '../plan/faults.js';
import type { SimPlan } from '../plan/plan.js';
import type { ServiceHandle } from '../world/sim-world.js';
import { sleepUntil, type SimClock } from '../world/sim-clock.js';
import { aclPublish, aclSubscribe, impersonation } from './access.js';
import type { Attack, AttackContext, AttackOutcome, AttackResult } from './attack.js';
import { aboveDeposit, doubleSigned, forgedSignature, replayedOldVoucher } from './own-channel.js';
import { forgedChannel, overdraftOpen, replayedVoucher } from './theft.js';

export const ATTACKS: Readonly<Record<AttackKind, Attack>> = {
  'forged-signature': forgedSignature,
  'forged-channel': forgedChannel,
  'replayed-voucher': replayedVoucher,
  'replayed-old-voucher': replayedOldVoucher,
  'double-signed': doubleSigned,
  'above-deposit': aboveDeposit,
  'overdraft-open': overdraftOpen,
  impersonation,
  'acl-publish': aclPublish,
  'acl-subscribe': aclSubscribe,
};

/** Waits for the broker and the link, and this long for a cover payment's verdict. */
const READY_WAIT_MS = 10_000;
const READY_ATTEMPTS = 3;

export class RogueRunner {
  readonly outcomes: AttackOutcome[] = [];

  constructor(
    private readonly ctx: AttackContext,
    private readonly plan: SimPlan,
    private readonly broker: ServiceHandle,
    private readonly clock: SimClock,
    private readonly startMs: number,
    private readonly signal: AbortSignal,
  ) {}

  private get rogue() {
    return this.ctx.rogue;
  }

  /** Broker up, link connected, channel open and one fresh cover payment accepted. */
  private async ready(): Promise<boolean> {
    for (let attempt = 0; attempt < READY_ATTEMPTS && !this.signal.aborted; attempt++) {
      if (!(await this.broker.whenUp(READY_WAIT_MS)) || !(await this.rogue.link.whenConnected(READY_WAIT_MS))) continue;
      try {
        await this.rogue.openChannel(this.ctx.random);
      } catch {
        continue;
      }
      if (await this.rogue.coverPayment(READY_WAIT_MS)) return true;
    }
    return false;
  }

  private async attempt(planned: PlannedAttack): Promise<AttackOutcome> {
    const base = { kind: planned.kind, rogue: this.rogue.plan.id, atMs: planned.atMs };
    if (!(await this.ready())) return { ...base, status: 'interrupted', expected: '-', observed: 'broker or link not ready' };
    const generation = this.broker.generation;
    let result: AttackResult;
    try {
      result = await ATTACKS[planned.kind](this.ctx);
    } catch (error) {
      result = { status: 'unanswered', expected: '-', observed: `attack failed: ${codeOf(error)} ${(error as Error).message}` };
    }
    const restarted = this.broker.generation !== generation || !this.broker.up;
    if (restarted && result.status !== 'rejected' && result.status !== 'skipped') result = { ...result, status: 'interrupted', observed: `${result.observed} (broker restarted meanwhile)` };
    return { ...base, ...result };
  }

  /** Attacks on schedule until the run stops or the schedule passes the end of the run. */
  async run(): Promise<void> {
    const schedule = this.plan.attacks(this.rogue.plan.id);
    for (let next = schedule.next(); next.done !== true; next = schedule.next()) {
      if (next.value.atMs >= this.plan.options.durationMs) return;
      await sleepUntil(this.clock, this.startMs + next.value.atMs, this.signal);
      if (this.signal.aborted) return;
      this.outcomes.push(await this.attempt(next.value));
    }
  }
}
