// Healing the service after its ledger was restored from a backup [docs/DESIGN.md rule 11]: the
// service then knows older channel states than this device. On every (re)connect, and whenever
// the service answers CHANNEL_UNKNOWN for a channel it certified, the agent compares its channels
// with the service's view (`channel.list`) and hands back, with `channel.restore`, the
// certificate (signed by the service's own key) and the latest payer-signed voucher it holds:
// - as payer, for a channel the service does not know, or knows with a lower seq or deposit;
// - as payee, for a channel the service does not know (one it knows behind is redeemed by the
//   Redeemer with channel.redeem).
// A refusal the service says is passing (RESTORE_FUNDS_PENDING: the fundings after the backup
// are not replayed yet) is retried every HEAL_RETRY_MS while connected.
import { MqpayError } from '../shared/errors.js';
import { toHex } from '../shared/hex.js';
import type { RpcParamsInput, RpcResult } from '../shared/schemas.js';
import type { AgentContext } from './context.js';
import { HEAL_RETRY_MS } from './limits.js';
import { heldVoucher, listPayeeChannels, payeeCertificate } from './store/payee-channels.js';
import { listPayerChannels, type PayerChannel } from './store/payer-channels.js';
import { findSignedVoucher } from './store/signed-vouchers.js';

type ServiceChannel = RpcResult<'channel.list'>['channels'][number];
type RestoreParams = RpcParamsInput<'channel.restore'>;

export interface HealReport {
  /** Channels handed back that the service took (re-created or brought forward). */
  readonly healed: number;
  /** Channels refused for now (retried later). */
  readonly pending: number;
}

export class ChannelHealer {
  private running: Promise<HealReport> | null = null;
  private again = false;
  private retry: NodeJS.Timeout | null = null;
  private stopped = false;

  /** `onHealed` runs after a pass that healed something (the payer re-sends what is pending). */
  constructor(private readonly ctx: AgentContext, private readonly onHealed: () => void) {}

  /** Runs a pass now (or right after the one running); failures are logged, never thrown. */
  healInBackground(why: string): void {
    if (this.stopped) return;
    if (this.running !== null) {
      this.again = true;
      return;
    }
    this.running = this.pass().then((report) => {
      if (report.healed > 0) {
        this.ctx.logger.info({ why, healed: report.healed, pending: report.pending }, 'channels handed back to the service');
        this.onHealed();
      }
      if (report.pending > 0) this.retryLater();
      return report;
    }, (error: unknown) => {
      this.ctx.logger.warn({ why, err: (error as Error)?.message ?? String(error) }, 'channel check not done; retried at the next connect');
      return { healed: 0, pending: 0 };
    }).finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.healInBackground('again');
      }
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.retry !== null) clearTimeout(this.retry);
  }

  private retryLater(): void {
    if (this.retry !== null || this.stopped) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      if (this.ctx.link.connected) this.healInBackground('retry');
    }, HEAL_RETRY_MS);
    this.retry.unref();
  }

  private async pass(): Promise<HealReport> {
    if (!this.ctx.link.connected) return { healed: 0, pending: 0 };
    const listed = await this.ctx.link.call('channel.list', {});
    const byId = new Map(listed.channels.map((channel) => [channel.channel, channel]));
    const offers = [...this.payerOffers(byId), ...this.payeeOffers(byId)];
    let healed = 0;
    let pending = 0;
    for (const params of offers) {
      const outcome = await this.offer(params);
      if (outcome === 'healed') healed += 1;
      if (outcome === 'pending') pending += 1;
    }
    return { healed, pending };
  }

  /** Payer channels the service lacks or holds behind what this payer knows was accepted. */
  private payerOffers(byId: ReadonlyMap<string, ServiceChannel>): RestoreParams[] {
    const offers: RestoreParams[] = [];
    for (const local of listPayerChannels(this.ctx.db)) {
      if (local.state !== 'open' || local.certificate === null || local.certificateSignature === null) continue;
      const known = byId.get(toHex(local.id));
      const behind = known === undefined || (known.state !== 'closed' && (known.seq < local.acceptedSeq || known.deposit < local.deposit));
      if (behind) offers.push({ certificate: toHex(local.certificate), signature: toHex(local.certificateSignature), ...this.latestAccepted(local) });
    }
    return offers;
  }

  private latestAccepted(local: PayerChannel): Pick<RestoreParams, 'voucher' | 'voucherSignature'> {
    if (local.acceptedSeq === 0n) return {};
    const row = findSignedVoucher(this.ctx.db, local.id, local.acceptedSeq);
    return row === null ? {} : { voucher: toHex(row.voucher), voucherSignature: toHex(row.signature) };
  }

  /** Payee channels the service does not know at all (known ones are the Redeemer's). */
  private payeeOffers(byId: ReadonlyMap<string, ServiceChannel>): RestoreParams[] {
    const offers: RestoreParams[] = [];
    for (const local of listPayeeChannels(this.ctx.db)) {
      // Closed ones too: a close after the backup was lost with it, and the payee's payment with it.
      if (byId.has(toHex(local.id))) continue;
      const certified = payeeCertificate(this.ctx.db, local.id);
      const held = heldVoucher(this.ctx.db, local.id);
      if (certified === null || held === null) continue;
      offers.push({ certificate: toHex(certified.certificate), signature: toHex(certified.signature), voucher: toHex(held.voucher), voucherSignature: toHex(held.signature) });
    }
    return offers;
  }

  private async offer(params: RestoreParams): Promise<'healed' | 'same' | 'pending' | 'refused'> {
    try {
      const result = await this.ctx.link.call('channel.restore', params);
      return result.created || result.healed > 0n ? 'healed' : 'same';
    } catch (error) {
      if (error instanceof MqpayError && error.retryable) return 'pending';
      if (!(error instanceof MqpayError)) throw error;
      this.ctx.logger.warn({ code: error.code }, 'the service refused a channel handed back');
      return 'refused';
    }
  }
}
