// Redemption: the payee hands the service every payer-signed voucher it holds that is better
// than the service's latest, so a payment accepted offline is never lost to a close or an
// expiry [docs/DESIGN.md rule 11]. A hash chain it holds (the checkpoint and the highest link it
// checked, v3.1) is redeemed the same way, with `channel.redeemChain`, when its seq is above the
// service's or its total at the same seq is. It runs by itself on every (re)connect and when a
// `channel.closing` notice arrives, and on demand (`redeem()`, `mqpay agent redeem`).
import { MqpayError } from '../../shared/errors.js';
import { toHex } from '../../shared/hex.js';
import type { RpcResult } from '../../shared/schemas.js';
import type { AgentContext } from '../context.js';
import { listPayeeChannels } from '../store/payee-channels.js';
import { ZERO } from '../../shared/amount.js';
import { heldEvidence, isAboveService, type HeldEvidence } from './held-evidence.js';
import type { RedeemedChannel, RedeemReport } from '../types.js';

type ServiceChannel = RpcResult<'channel.list'>['channels'][number];

export class Redeemer {
  /** One pass at a time: a pass started while one runs waits for it, then runs afresh. */
  private running: Promise<RedeemReport> = Promise.resolve({ channels: [], complete: true });

  constructor(private readonly ctx: AgentContext) {}

  /**
   * Redeems every better voucher; `only` restricts the pass to one channel (hex). An explicit
   * pass (`closedToo`) submits to closed channels as well, so the service's refusal
   * (CHANNEL_CLOSED) is in the report; background passes skip them (it would never change).
   */
  redeem(only?: string, closedToo = true): Promise<RedeemReport> {
    const next = this.running.catch(() => undefined).then(() => this.pass(only, closedToo));
    this.running = next;
    return next;
  }

  /** Background passes (connect, closing notice): failures are logged, the next pass retries. */
  redeemInBackground(why: string, only?: string): void {
    this.redeem(only, false).then((report) => {
      const submitted = report.channels.filter((channel) => channel.submitted);
      if (submitted.length > 0) this.ctx.logger.info({ why, redeemed: submitted.map((channel) => channel.channel), complete: report.complete }, 'vouchers redeemed');
    }, (error: unknown) => this.ctx.logger.warn({ why, err: (error as Error)?.message ?? String(error) }, 'redemption not done; retried at the next connect'));
  }

  private async pass(only: string | undefined, closedToo: boolean): Promise<RedeemReport> {
    const { link, timing, device, db } = this.ctx;
    if (!(await link.whenConnected(timing.requestTimeoutMs))) throw new MqpayError('SERVICE_UNAVAILABLE', 'broker unreachable; nothing redeemed');
    const listed = await link.call('channel.list', {});
    const byId = new Map(listed.channels.filter((channel) => channel.payee === device).map((channel) => [channel.channel, channel]));
    const channels: RedeemedChannel[] = [];
    for (const local of listPayeeChannels(db)) {
      const hex = toHex(local.id);
      if (only !== undefined && hex !== only) continue;
      const held = heldEvidence(db, local.id);
      if (held === null) continue;
      const base = { channel: hex, payer: local.payer, heldSeq: held.seq, heldTotal: held.total };
      const known = byId.get(hex);
      if (known === undefined) {
        // channel.list is bounded (newest first): a channel it left out is asked about directly,
        // unless this payee already knows it closed.
        if (local.state === 'closed' && !closedToo) continue;
        channels.push(await this.submit(base, null, held));
        continue;
      }
      if (!isAboveService(held, known) || (known.state === 'closed' && !closedToo)) {
        channels.push({ ...base, state: known.state, serviceSeq: known.seq, serviceTotal: known.total, submitted: false });
        continue;
      }
      channels.push(await this.submit(base, known, held));
    }
    // Complete when, on every channel, the service holds at least what this payee holds: as much
    // in total (a later seq never pays less, and a chain may pay more at the same seq).
    const complete = channels.every((channel) => channel.serviceTotal >= channel.heldTotal);
    return { channels, complete };
  }

  /** `before` is the service's view from channel.list, null when the list left the channel out. */
  private async submit(base: Pick<RedeemedChannel, 'channel' | 'payer' | 'heldSeq' | 'heldTotal'>, before: ServiceChannel | null, held: HeldEvidence): Promise<RedeemedChannel> {
    try {
      const result = await held.redeem(this.ctx.link);
      return { ...base, state: result.channel.state, serviceSeq: result.channel.seq, serviceTotal: result.channel.total, submitted: true };
    } catch (error) {
      if (!(error instanceof MqpayError) || error.retryable) throw error;
      const state = before?.state ?? (error.code === 'CHANNEL_CLOSED' ? 'closed' : 'open');
      return { ...base, state, serviceSeq: before?.seq ?? 0n, serviceTotal: before?.total ?? ZERO, submitted: true, error: error.code };
    }
  }
}
