// Finds a channel to a payee with room for a payment: reuses the newest open one, opens one
// (deposit from configuration) or tops one up. Every request that moves money is made
// retry-safe before it is sent: the channel id is the payer's choice and is stored first
// (a retried open finds its channel instead of escrowing twice), and a top-up's request id is
// stored first (a retry after a crash gets the service's stored answer, not a second top-up).
import { formatAmount, subAmount, type Amount } from '../../shared/amount.js';
import { CERTIFICATE_BYTES } from '../../shared/certificate.js';
import { MqpayError } from '../../shared/errors.js';
import { bytesEqual, fromHex, toHex } from '../../shared/hex.js';
import { SIGNATURE_BYTES } from '../../shared/limits.js';
import type { RpcResult } from '../../shared/schemas.js';
import { newChannelId } from '../../shared/ids.js';
import type { AgentContext } from '../context.js';
import { secondsOf } from '../../shared/time.js';
import {
  applyPayerCertificate, channelsInState, getPayerChannel, insertOpeningChannel, openingPayerChannel, setPayerChannelState,
  setTopupIntent, usablePayerChannel, type CertifiedTerms, type PayerChannel,
} from '../store/payer-channels.js';

/** Random bytes in a client-chosen top-up request id. */
const TOPUP_REQUEST_RANDOM_BYTES = 12;

const larger = (a: Amount, b: Amount): Amount => (a > b ? a : b);
export const headroomOf = (channel: PayerChannel): Amount => subAmount(channel.deposit, channel.signedTotal);

// Turns a channel.open or channel.topup answer into terms the payer can rely on: the
// certificate must be signed by the trusted service key and describe exactly the channel this
// agent asked for (its id, this payer and key, the intended payee).
function certifiedTermsOf(ctx: AgentContext, channel: PayerChannel, parsed: RpcResult<'channel.topup'>, what: string): { terms: CertifiedTerms; closed: boolean } {
  const bytes = fromHex(parsed.certificate, CERTIFICATE_BYTES);
  const signature = fromHex(parsed.signature, SIGNATURE_BYTES);
  const certificate = ctx.trust.checkCertificate(bytes, signature);
  const matches = bytesEqual(certificate.channelId, channel.id) && certificate.payer === ctx.device
    && bytesEqual(certificate.payerKey, ctx.keys.publicKey) && certificate.payee === channel.payee;
  if (!matches) throw new MqpayError('MESSAGE_INVALID', `${what}: the certificate describes another channel`);
  return {
    terms: { deposit: certificate.deposit, expiresAtSeconds: certificate.expiresAtSeconds, revision: certificate.revision, certificate: bytes, certificateSignature: signature, payeeKey: certificate.payeeKey },
    closed: parsed.channel.state === 'closed',
  };
}

export class ChannelFunding {
  private readonly opening = new Map<string, Promise<PayerChannel>>();
  private readonly toppingUp = new Map<string, Promise<PayerChannel>>();

  constructor(private readonly ctx: AgentContext) {}

  /** A channel to `payee` that can take `amount` now. */
  async ensure(payee: string, amount: Amount): Promise<PayerChannel> {
    const { db, clock, config } = this.ctx;
    const validUntil = secondsOf(clock.nowMs()) + BigInt(config.channel.renewBeforeSeconds);
    const channel = usablePayerChannel(db, payee, validUntil) ?? (await this.openFor(payee, amount));
    if (headroomOf(channel) >= amount) return channel;
    return this.topUp(channel, larger(config.channel.deposit, subAmount(amount, headroomOf(channel))));
  }

  private openFor(payee: string, amount: Amount): Promise<PayerChannel> {
    const running = this.opening.get(payee);
    if (running !== undefined) return running;
    const work = this.open(payee, larger(this.ctx.config.channel.deposit, amount)).finally(() => this.opening.delete(payee));
    this.opening.set(payee, work);
    return work;
  }

  private async open(payee: string, deposit: Amount): Promise<PayerChannel> {
    const { db, batch, clock, random, config } = this.ctx;
    this.ctx.trust.refuseKnownMismatch(); // no deposit escrowed in a currency this device does not pay in
    let channel = openingPayerChannel(db, payee);
    if (channel === null) {
      const id = newChannelId(random);
      const row = { id, payee, openRequest: `open-${toHex(id).slice(0, 32)}`, deposit, durationSeconds: config.channel.durationSeconds, nowMs: clock.nowMs() };
      channel = await batch.run(() => {
        insertOpeningChannel(db, row);
        return getPayerChannel(db, id);
      });
      if (channel === null) throw new Error('channel vanished after insert');
    }
    return this.finishOpen(channel);
  }

  /** Sends (or re-sends) a stored open request and applies the certified answer. */
  async finishOpen(channel: PayerChannel): Promise<PayerChannel> {
    const { ctx } = this;
    const { link, batch, db, timing } = ctx;
    if (!(await link.whenConnected(timing.requestTimeoutMs))) throw link.refusal ?? new MqpayError('SERVICE_UNAVAILABLE', 'broker unreachable; cannot open a channel');
    const params = { channel: toHex(channel.id), payee: channel.payee, deposit: formatAmount(channel.deposit), durationSeconds: channel.durationSeconds };
    let result: RpcResult<'channel.open'>;
    try {
      result = await link.call('channel.open', params, channel.openRequest);
    } catch (error) {
      if (error instanceof MqpayError && !error.retryable) await batch.run(() => setPayerChannelState(db, channel.id, 'failed', error.code));
      throw error;
    }
    ctx.trust.learn(result.servicePublicKey);
    const { terms, closed } = certifiedTermsOf(this.ctx, channel, result, 'channel.open');
    return this.applied(channel, () => {
      applyPayerCertificate(db, channel.id, terms);
      if (closed) setPayerChannelState(db, channel.id, 'closed');
    });
  }

  private async applied(channel: PayerChannel, write: () => void): Promise<PayerChannel> {
    const updated = await this.ctx.batch.run(() => {
      write();
      return getPayerChannel(this.ctx.db, channel.id);
    });
    if (updated === null) throw new Error('channel vanished after update');
    return updated;
  }

  /** Tops a channel up by `amount` (one top-up per channel at a time). */
  topUp(channel: PayerChannel, amount: Amount): Promise<PayerChannel> {
    const key = toHex(channel.id);
    const running = this.toppingUp.get(key);
    if (running !== undefined) return running;
    const work = this.startTopup(channel, amount).finally(() => this.toppingUp.delete(key));
    this.toppingUp.set(key, work);
    return work;
  }

  private async startTopup(channel: PayerChannel, amount: Amount): Promise<PayerChannel> {
    if (channel.topupRequest !== null && channel.topupAmount !== null) return this.finishTopup(channel);
    const request = `topup-${toHex(this.ctx.random(TOPUP_REQUEST_RANDOM_BYTES))}`;
    const intended = await this.applied(channel, () => setTopupIntent(this.ctx.db, channel.id, request, amount));
    return this.finishTopup(intended);
  }

  /** Sends (or re-sends) the stored top-up request and applies the certified answer. */
  async finishTopup(channel: PayerChannel): Promise<PayerChannel> {
    const { link, db, timing } = this.ctx;
    if (channel.topupRequest === null || channel.topupAmount === null) return channel;
    if (!(await link.whenConnected(timing.requestTimeoutMs))) throw link.refusal ?? new MqpayError('SERVICE_UNAVAILABLE', 'broker unreachable; cannot top up');
    let result: RpcResult<'channel.topup'>;
    try {
      result = await link.call('channel.topup', { channel: toHex(channel.id), amount: formatAmount(channel.topupAmount) }, channel.topupRequest);
    } catch (error) {
      if (error instanceof MqpayError && !error.retryable) await this.applied(channel, () => setTopupIntent(db, channel.id, null, null));
      throw error;
    }
    const { terms } = certifiedTermsOf(this.ctx, channel, result, 'channel.topup');
    return this.applied(channel, () => {
      applyPayerCertificate(db, channel.id, terms);
      setTopupIntent(db, channel.id, null, null);
    });
  }

  /** After (re)connecting: finishes opens and top-ups a crash or an outage interrupted. */
  resume(): void {
    const { db, logger } = this.ctx;
    const report = (what: string) => (error: unknown) => logger.warn({ code: (error as MqpayError).code, err: (error as Error).message }, `${what} not finished yet`);
    for (const channel of channelsInState(db, 'opening')) {
      if (this.opening.has(channel.payee)) continue;
      const work = this.finishOpen(channel).finally(() => this.opening.delete(channel.payee));
      this.opening.set(channel.payee, work);
      work.catch(report('channel open'));
    }
    for (const channel of channelsInState(db, 'open')) {
      if (channel.topupRequest !== null && channel.topupAmount !== null) this.topUp(channel, channel.topupAmount).catch(report('top-up'));
    }
  }

  /** Tops up in the background once the unspent deposit falls below the configured floor. */
  topUpIfLow(channel: PayerChannel): void {
    const floor = this.ctx.config.channel.topupBelow;
    if (floor === 0n || headroomOf(channel) >= floor || this.toppingUp.has(toHex(channel.id))) return;
    this.topUp(channel, this.ctx.config.channel.deposit).catch((error: unknown) => {
      this.ctx.logger.warn({ channel: toHex(channel.id), code: (error as MqpayError).code }, 'background top-up failed');
    });
  }
}
