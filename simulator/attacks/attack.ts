// What an attack is and how its outcome is judged. An attack counts as rejected only when the
// service refused it the right way (the expected error code, a refused connection, a
// disconnect it logged as an ACL violation) AND the ledger shows it had no effect.
import type { RandomBytes } from '../../shared/ids.js';
import type { RogueDevice, Verdict, VoucherMessage } from '../actors/rogue-device.js';
import type { AttackKind } from '../plan/faults.js';
import type { BrokerLog } from '../world/broker-log.js';
import { factsKey, type LedgerReader } from '../world/ledger-reader.js';
import type { SimClock } from '../world/sim-clock.js';

/** How long an attacker waits for the service's answer. */
export const ATTACK_ANSWER_MS = 10_000;

export interface AttackContext {
  readonly rogue: RogueDevice;
  readonly ledger: LedgerReader;
  readonly brokerLog: BrokerLog;
  /** The broker's own address (attackers do not go through the fault proxy). */
  readonly brokerUrl: string;
  readonly brokerId: string;
  readonly random: RandomBytes;
  readonly clock: SimClock;
}

export type AttackStatus = 'rejected' | 'succeeded' | 'unanswered' | 'skipped' | 'interrupted';

export interface AttackResult {
  readonly status: AttackStatus;
  readonly expected: string;
  readonly observed: string;
}

export interface AttackOutcome extends AttackResult {
  readonly kind: AttackKind;
  readonly rogue: string;
  readonly atMs: number;
}

export type Attack = (ctx: AttackContext) => Promise<AttackResult>;

export const skipped = (why: string): AttackResult => ({ status: 'skipped', expected: '-', observed: why });

const describe = (verdict: Verdict | null): string =>
  verdict === null ? 'no answer' : verdict.type === 'voucher.accepted' ? `accepted (total ${verdict.total})` : `rejected ${verdict.code}`;

/**
 * Sends a hostile voucher and judges it: rejected when the answer is the expected code and
 * the channel's ledger facts are what they were before.
 */
export async function expectVoucherRefused(ctx: AttackContext, input: { message: VoucherMessage; channel: Uint8Array; seq: bigint; code: string }): Promise<AttackResult> {
  const before = factsKey(await ctx.ledger.channel(input.channel));
  const verdict = await ctx.rogue.verdict(input.message, input.channel, input.seq, ATTACK_ANSWER_MS);
  const after = factsKey(await ctx.ledger.channel(input.channel));
  const observed = `${describe(verdict)}; ledger ${before === after ? 'unchanged' : `changed: ${before} -> ${after}`}`;
  if (verdict === null) return { status: 'unanswered', expected: input.code, observed };
  const refused = verdict.type === 'voucher.rejected' && verdict.code === input.code;
  return { status: refused && before === after ? 'rejected' : 'succeeded', expected: input.code, observed };
}
