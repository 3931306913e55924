// Voucher ingest: size, schema, binary decode, channel rules, signature, then a group commit.
// [DESIGN rule 5] The promise returned by `handle` settles only after the voucher is committed
// and the reply published, and the MQTT layer PUBACKs only then. Vouchers that arrive in the
// same event-loop turn share one SQLite transaction (one fsync), which is where the speed comes
// from; `voucherBatchMax` bounds a batch.
import { formatAmount, type Amount } from '../../shared/amount.js';
import { MqpayError, type ErrorCode } from '../../shared/errors.js';
import { bytesEqual, fromHex, toHex } from '../../shared/hex.js';
import { SIGNATURE_BYTES } from '../../shared/limits.js';
import { parsePayload, voucherMessageSchema, type VoucherInboxMessage } from '../../shared/schemas.js';
import { inboxTopic } from '../../shared/topics.js';
import { decodeVoucher, VOUCHER_BYTES, type Voucher } from '../../shared/voucher.js';
import { judgeVoucher, type VoucherVerdict } from '../../shared/voucher-rules.js';
import { findVoucher, insertVoucher, recordDoubleSign, setLatestVoucher } from '../store/channels.js';
import type { CachedChannel, ChannelCache } from './channel-cache.js';
import { GroupCommit } from './group-commit.js';
import type { SignatureVerifier } from './verify-pool.js';
import type { ServiceDeps } from './ports.js';
import { errorBody, errorBodyOf, payloadOf } from './replies.js';
import type { ServiceStats } from './stats.js';

interface PendingVoucher {
  readonly channel: CachedChannel;
  readonly seq: bigint;
  readonly total: Amount;
  readonly signature: Uint8Array;
}

interface SignedVoucher {
  readonly voucher: Voucher;
  readonly bytes: Uint8Array;
  readonly signature: Uint8Array;
}

type Outcome =
  | { readonly accepted: true; readonly channel: CachedChannel; readonly voucher: Voucher; readonly bytes: Uint8Array; readonly signature: Uint8Array; readonly forward: boolean }
  | { readonly accepted: false; readonly code: ErrorCode; readonly detail?: string | undefined; readonly voucher?: Voucher | undefined };

const rejectedOutcome = (signed: SignedVoucher, code: ErrorCode, detail?: string): Outcome => ({ accepted: false, code, detail, voucher: signed.voucher });

export class VoucherIngest {
  private readonly commits: GroupCommit<PendingVoucher>;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly replyOptions: { qos: 0 | 1 };

  constructor(
    private readonly deps: ServiceDeps,
    private readonly cache: ChannelCache,
    private readonly stats: ServiceStats,
    private readonly onCommitted: (channels: readonly CachedChannel[]) => void,
    private readonly verifier: SignatureVerifier,
  ) {
    this.replyOptions = { qos: deps.options.voucherReplyQos };
    this.commits = new GroupCommit(deps.db, deps.options.voucherBatchMax, (items) => this.write(items), (items, error) => this.failed(items, error), (items) => onCommitted(items.map((item) => item.channel)));
  }

  /** Handles one published voucher; resolves once it is durable (or rejected) and answered. */
  handle(device: string, payload: Uint8Array): Promise<void> {
    const work = this.handleOne(device, payload);
    this.inFlight.add(work);
    return work.finally(() => this.inFlight.delete(work));
  }

  /**
   * Resolves once every voucher received so far is judged and answered. A request (a close, a
   * top-up) waits for it, so it is handled after the vouchers the device sent before it, even
   * while their signatures are still with the verify worker.
   */
  async received(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private async handleOne(device: string, payload: Uint8Array): Promise<void> {
    let outcome: Outcome;
    try {
      outcome = await this.judge(device, payload);
    } catch (error) {
      if (!(error instanceof MqpayError)) this.deps.logger.error({ err: error, device }, 'voucher ingest failed');
      outcome = { accepted: false, code: error instanceof MqpayError ? error.code : 'INTERNAL', detail: error instanceof MqpayError ? error.detail : undefined };
    }
    await this.answer(device, outcome);
  }

  private async answer(device: string, outcome: Outcome): Promise<void> {
    const { transport } = this.deps;
    if (!outcome.accepted) {
      this.stats.rejected(outcome.code);
      const reply: VoucherInboxMessage = { v: 1, type: 'voucher.rejected', error: errorBody(outcome.code, outcome.detail) };
      if (outcome.voucher !== undefined) Object.assign(reply, { channel: toHex(outcome.voucher.channelId), seq: outcome.voucher.seq.toString() });
      await transport.publish(inboxTopic(device, 'voucher'), payloadOf(reply), this.replyOptions);
      return;
    }
    this.stats.accepted();
    const { voucher } = outcome;
    const accepted: VoucherInboxMessage = { v: 1, type: 'voucher.accepted', channel: toHex(voucher.channelId), seq: voucher.seq.toString(), total: formatAmount(voucher.total) };
    const sends = [transport.publish(inboxTopic(device, 'voucher'), payloadOf(accepted), this.replyOptions)];
    if (outcome.forward) {
      const forwarded: VoucherInboxMessage = { v: 1, type: 'voucher', payer: device, voucher: toHex(outcome.bytes), signature: toHex(outcome.signature) };
      sends.push(transport.publish(inboxTopic(outcome.channel.payee, 'voucher'), payloadOf(forwarded), this.replyOptions));
    }
    await Promise.all(sends);
  }

  private async judge(device: string, payload: Uint8Array): Promise<Outcome> {
    const message = parsePayload(voucherMessageSchema, payload);
    const bytes = fromHex(message.voucher, VOUCHER_BYTES);
    const signature = fromHex(message.signature, SIGNATURE_BYTES);
    const voucher = decodeVoucher(bytes);
    const channel = this.cache.get(voucher.channelId);
    const nowSeconds = BigInt(Math.floor(this.deps.clock.nowMs() / 1000));
    const first = judgeVoucher(channel, device, voucher, nowSeconds);
    const signed: SignedVoucher = { voucher, bytes, signature };
    if (first.kind === 'reject' || channel === null) return rejectedOutcome(signed, first.kind === 'reject' ? first.code : 'CHANNEL_UNKNOWN');
    // The identical bytes of the latest voucher were verified when it was first accepted.
    const known = first.kind === 'repeat-latest' && channel.latestSignature !== null && bytesEqual(channel.latestSignature, signature);
    if (!known && !(await this.verifier.verify(signature, bytes, channel.payerKey))) return rejectedOutcome(signed, 'SIGNATURE_INVALID');
    // Verifying may have waited for the worker: judge again against the channel as it is now.
    return this.verified(channel, signed, judgeVoucher(channel, device, voucher, nowSeconds));
  }

  /** The verdict on a voucher whose signature is known to be the payer's. */
  private async verified(channel: CachedChannel, signed: SignedVoucher, verdict: VoucherVerdict): Promise<Outcome> {
    const { voucher, bytes, signature } = signed;
    const accepted = (forward: boolean): Outcome => ({ accepted: true, channel, voucher, bytes, signature, forward });
    switch (verdict.kind) {
      case 'reject':
        return rejectedOutcome(signed, verdict.code);
      case 'repeat-latest':
        this.flush(); // the first copy may still be in the open batch: answer only once it is durable
        return accepted(true);
      case 'older': {
        this.flush();
        const earlier = findVoucher(this.deps.db, voucher.channelId, voucher.seq);
        if (earlier === null) return rejectedOutcome(signed, 'VOUCHER_SEQ_NOT_INCREASING', `latest seq is ${channel.latestSeq}`);
        if (earlier.total === voucher.total) return accepted(false);
        this.recordEvidence(voucher, bytes, signature, earlier.total);
        return rejectedOutcome(signed, 'VOUCHER_DOUBLE_SIGNED', `seq ${voucher.seq} was accepted with another total`);
      }
      case 'double-signed':
        this.flush();
        this.recordEvidence(voucher, bytes, signature, channel.latestTotal);
        return rejectedOutcome(signed, 'VOUCHER_DOUBLE_SIGNED', `seq ${voucher.seq} was accepted with another total`);
      case 'advance':
        // Judge the next voucher against this one at once, even before the batch commits.
        channel.latestSeq = voucher.seq;
        channel.latestTotal = voucher.total;
        channel.latestSignature = signature;
        await this.commits.add({ channel, seq: voucher.seq, total: voucher.total, signature });
        return accepted(true);
    }
  }

  private recordEvidence(voucher: Voucher, bytes: Uint8Array, signature: Uint8Array, acceptedTotal: Amount): void {
    this.deps.logger.warn({ channel: toHex(voucher.channelId), seq: voucher.seq.toString() }, 'double-signed voucher recorded as evidence');
    recordDoubleSign(this.deps.db, {
      channel: voucher.channelId, seq: voucher.seq, acceptedTotal, conflictingTotal: voucher.total, voucher: bytes, signature, nowMs: this.deps.clock.nowMs(),
    });
  }

  /** Commits the open batch now, synchronously. Settlement and channel changes call it first. */
  flush(): void {
    this.commits.flush();
  }

  /** Every voucher is logged; each channel's latest moves once per batch, to its last one. */
  private write(items: readonly PendingVoucher[]): void {
    const nowMs = this.deps.clock.nowMs();
    const latest = new Map<CachedChannel, PendingVoucher>();
    for (const item of items) {
      insertVoucher(this.deps.db, item.channel.num, item.seq, item.total, item.signature, nowMs);
      latest.set(item.channel, item);
    }
    for (const [channel, item] of latest) setLatestVoucher(this.deps.db, channel.num, item.seq, item.total, item.signature);
  }

  /** Nothing of the batch is durable: drop the optimistic cache state and refuse them all. */
  private failed(items: readonly PendingVoucher[], error: unknown): MqpayError {
    this.deps.logger.error({ err: error, vouchers: items.length }, 'voucher batch commit failed');
    for (const item of items) this.cache.forget(item.channel.id);
    return new MqpayError('SERVICE_UNAVAILABLE', 'could not store the voucher');
  }
}
