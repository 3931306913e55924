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
import { secondsOf } from '../../shared/time.js';
import { inboxTopic } from '../../shared/topics.js';
import { decodeVoucher, VOUCHER_BYTES, type Voucher } from '../../shared/voucher.js';
import { judgeVoucher, type VoucherVerdict } from '../../shared/voucher-rules.js';
import { findVoucher, insertVoucher, recordDoubleSign, setLatestVoucher } from '../store/channels.js';
import type { CachedChannel, ChannelCache } from './channel-cache.js';
import { GroupCommit } from './group-commit.js';
import type { SignatureVerifier } from './verify-pool.js';
import type { ServiceDeps } from './ports.js';
import { errorBody, payloadOf } from './replies.js';
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

/** The latest voucher again, byte for byte, as this process verified and accepted it. */
function isKnownLatest(channel: CachedChannel, signed: SignedVoucher): boolean {
  return channel.latestVoucher !== null && channel.latestSignature !== null && bytesEqual(channel.latestVoucher, signed.bytes) && bytesEqual(channel.latestSignature, signed.signature);
}

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
      const reply: VoucherInboxMessage = { v: 2, type: 'voucher.rejected', error: errorBody(outcome.code, outcome.detail) };
      if (outcome.voucher !== undefined) Object.assign(reply, { channel: toHex(outcome.voucher.channelId), seq: outcome.voucher.seq.toString() });
      await transport.publish(inboxTopic(device, 'voucher'), payloadOf(reply), this.replyOptions);
      return;
    }
    this.stats.accepted();
    const { voucher } = outcome;
    const accepted: VoucherInboxMessage = { v: 2, type: 'voucher.accepted', channel: toHex(voucher.channelId), seq: voucher.seq.toString(), total: formatAmount(voucher.total) };
    const sends = [transport.publish(inboxTopic(device, 'voucher'), payloadOf(accepted), this.replyOptions)];
    if (outcome.forward) {
      const forwarded: VoucherInboxMessage = { v: 2, type: 'voucher', payer: device, voucher: toHex(outcome.bytes), signature: toHex(outcome.signature) };
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
    const nowSeconds = secondsOf(this.deps.clock.nowMs());
    const first = judgeVoucher(channel, device, voucher, nowSeconds);
    const signed: SignedVoucher = { voucher, bytes, signature };
    if (channel === null) return rejectedOutcome(signed, 'CHANNEL_UNKNOWN');
    if (first.kind === 'reject') return rejectedOutcome(signed, first.code);
    if (!isKnownLatest(channel, signed) && !(await this.verifier.verify(signature, bytes, channel.payerKey))) return rejectedOutcome(signed, 'SIGNATURE_INVALID');
    // Verifying may have waited for the worker: judge again against the channel as it is now
    // (a failed batch may have made the cache reload it from SQLite meanwhile).
    const current = this.cache.get(voucher.channelId);
    if (current === null) return rejectedOutcome(signed, 'CHANNEL_UNKNOWN');
    try {
      return await this.verified(current, signed, judgeVoucher(current, device, voucher, nowSeconds));
    } catch (error) {
      // A failed commit: answer with the voucher's channel and seq so the payer knows which one.
      if (error instanceof MqpayError) return rejectedOutcome(signed, error.code, error.detail);
      throw error;
    }
  }

  /** Waits until the channel's latest voucher is committed; throws if its batch failed. */
  private async durable(channel: CachedChannel): Promise<void> {
    if (channel.pendingCommit !== null) await channel.pendingCommit;
  }

  /** The verdict on a voucher whose signature is known to be the payer's. */
  private async verified(channel: CachedChannel, signed: SignedVoucher, verdict: VoucherVerdict): Promise<Outcome> {
    const { voucher, bytes, signature } = signed;
    const accepted = (forward: boolean): Outcome => ({ accepted: true, channel, voucher, bytes, signature, forward });
    switch (verdict.kind) {
      case 'reject':
        return rejectedOutcome(signed, verdict.code);
      case 'repeat-latest':
        await this.durable(channel); // the first copy may still be in its batch: answer once it is on disk
        return accepted(true);
      case 'older': {
        await this.durable(channel);
        const earlier = findVoucher(this.deps.db, voucher.channelId, voucher.seq);
        if (earlier === null) return rejectedOutcome(signed, 'VOUCHER_SEQ_NOT_INCREASING', `latest seq is ${channel.latestSeq}`);
        if (earlier.total === voucher.total) return accepted(false);
        this.recordEvidence(voucher, bytes, signature, earlier.total);
        return rejectedOutcome(signed, 'VOUCHER_DOUBLE_SIGNED', `seq ${voucher.seq} was accepted with another total`);
      }
      case 'double-signed':
        await this.durable(channel);
        this.recordEvidence(voucher, bytes, signature, channel.latestTotal);
        return rejectedOutcome(signed, 'VOUCHER_DOUBLE_SIGNED', `seq ${voucher.seq} was accepted with another total`);
      case 'advance':
        // Judge the next voucher against this one at once, even before the batch commits.
        channel.latestSeq = voucher.seq;
        channel.latestTotal = voucher.total;
        channel.latestSignature = signature;
        channel.latestVoucher = bytes;
        return accepted(await this.committed(channel, { channel, seq: voucher.seq, total: voucher.total, signature }));
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

  /** Queues the voucher's commit, published on the channel so re-sends can wait for it. */
  private async committed(channel: CachedChannel, item: PendingVoucher): Promise<true> {
    const commit = this.commits.add(item);
    channel.pendingCommit = commit;
    try {
      await commit;
    } finally {
      if (channel.pendingCommit === commit) channel.pendingCommit = null;
    }
    return true;
  }

  /** Every voucher is logged; each channel's latest moves once per batch, to its highest seq. */
  private write(items: readonly PendingVoucher[]): void {
    const nowMs = this.deps.clock.nowMs();
    const latest = new Map<bigint, PendingVoucher>();
    for (const item of items) {
      insertVoucher(this.deps.db, item.channel.num, item.seq, item.total, item.signature, nowMs);
      const highest = latest.get(item.channel.num);
      if (highest === undefined || item.seq > highest.seq) latest.set(item.channel.num, item);
    }
    for (const [num, item] of latest) setLatestVoucher(this.deps.db, num, item.seq, item.total, item.signature);
  }

  /** Nothing of the batch is durable: drop the optimistic cache state and refuse them all. */
  private failed(items: readonly PendingVoucher[], error: unknown): MqpayError {
    this.deps.logger.error({ err: error, vouchers: items.length }, 'voucher batch commit failed');
    for (const item of items) this.cache.forget(item.channel.id);
    return new MqpayError('SERVICE_UNAVAILABLE', 'could not store the voucher');
  }
}
