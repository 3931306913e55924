// Voucher ingest: decode (the binary frame of out/voucher-bin, or the deprecated JSON of
// out/voucher), channel rules, signature, then a group commit. A binary voucher is read straight
// from the payload (no JSON, hex or zod) and answered with a binary verdict; a JSON one keeps its
// JSON verdict until protocol v4. The forward to the payee is always the binary frame (v3).
// [docs/DESIGN.md rule 5] The promise returned by `handle` settles only after the voucher is
// committed and the verdict published, and the MQTT layer PUBACKs only then. Vouchers that
// arrive in the same event-loop turn share one transaction (one fsync), each in its own
// savepoint, so one voucher that cannot be written fails alone, never another device's.
import type { Amount } from '../../../shared/amount.js';
import { formatAmount, subAmount } from '../../../shared/amount.js';
import { MqpayError, type ErrorCode } from '../../../shared/errors.js';
import { bytesEqual, fromHex, toHex } from '../../../shared/hex.js';
import { encodeVoucherAccepted, encodeVoucherForward, encodeVoucherRejected } from '../../../shared/inbox-frames.js';
import { decodeVoucherFrame, standalone } from '../../../shared/signed-frames.js';
import { SIGNATURE_BYTES } from '../../../shared/limits.js';
import { parsePayload, PROTOCOL_VERSION, type VoucherInboxMessage, voucherMessageSchema } from '../../../shared/schemas.js';
import { secondsOf } from '../../../shared/time.js';
import { inboxTopic } from '../../../shared/topics.js';
import { judgeVoucher, type VoucherVerdict } from '../../../shared/voucher-rules.js';
import { decodeVoucher, VOUCHER_BYTES, type Voucher } from '../../../shared/voucher.js';
import type { GroupCommit } from '../../../sqlite/group-commit.js';
import type { StoreTx } from '../../store/port.js';
import type { CachedChannel, ChannelCache } from '../channel-cache.js';
import type { ServiceDeps } from '../ports.js';
import { errorBody, payloadOf } from '../replies.js';
import type { SpendingGuard, SpendReservation, VoucherSpending } from '../spending/spending-guard.js';
import type { WireForm } from '../wire-form.js';
import type { Telemetry } from '../telemetry.js';
import type { UnitOfWork } from '../unit-of-work.js';
import { recordDoubleSignEvidence } from './double-sign.js';
import { InFlight } from './in-flight.js';
import { signedByRetiredKey } from '../retired-keys.js';
import { checkPayerKey } from '../payer-key-check.js';
import type { SignatureVerifier } from './verify-pool.js';

interface SignedVoucher {
  readonly voucher: Voucher;
  readonly bytes: Uint8Array;
  readonly signature: Uint8Array;
}

type Outcome =
  | { readonly accepted: true; readonly channel: CachedChannel; readonly signed: SignedVoucher; readonly forward: boolean }
  | { readonly accepted: false; readonly code: ErrorCode; readonly detail?: string | undefined; readonly voucher?: Voucher | undefined };

/**
 * Refusals a stale cached channel can cause when other processes write the store: every verdict
 * of the channel rules and the store's conditional write, but not a double-sign (its evidence is
 * recorded and the accepted history never changes) nor a channel the store does not know.
 */
const STALE_CACHE_MAY_EXPLAIN: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'CHANNEL_CLOSED', 'CHANNEL_CLOSING', 'CHANNEL_EXPIRED', 'VOUCHER_TOTAL_NOT_INCREASING', 'VOUCHER_ABOVE_DEPOSIT',
  'VOUCHER_SEQ_NOT_INCREASING', 'SIGNATURE_INVALID', 'KEY_ROTATED',
]);

const rejectedOutcome = (signed: SignedVoucher, code: ErrorCode, detail?: string): Outcome => ({ accepted: false, code, detail, voucher: signed.voucher });

function rejectionOf(error: unknown): Outcome {
  return { accepted: false, code: error instanceof MqpayError ? error.code : 'INTERNAL', detail: error instanceof MqpayError ? error.detail : undefined };
}

/** The latest voucher again, byte for byte, as this process verified and accepted it. */
function isKnownLatest(channel: CachedChannel, signed: SignedVoucher): boolean {
  return channel.latestVoucher !== null && channel.latestSignature !== null && bytesEqual(channel.latestVoucher, signed.bytes) && bytesEqual(channel.latestSignature, signed.signature);
}

/** The refusal in the form the voucher came in: topic and payload. */
function rejectionReply(device: string, outcome: Extract<Outcome, { accepted: false }>, form: WireForm): [string, Uint8Array] {
  const { voucher } = outcome;
  if (form === 'binary') return [inboxTopic(device, 'voucher-bin'), encodeVoucherRejected(outcome.code, voucher === undefined ? null : voucher)];
  const reply: VoucherInboxMessage = { v: PROTOCOL_VERSION, type: 'voucher.rejected', error: errorBody(outcome.code, outcome.detail) };
  if (voucher !== undefined) Object.assign(reply, { channel: toHex(voucher.channelId), seq: voucher.seq.toString() });
  return [inboxTopic(device, 'voucher'), payloadOf(reply)];
}

export interface VoucherIngestParts {
  readonly deps: ServiceDeps;
  readonly cache: ChannelCache;
  readonly telemetry: Telemetry;
  readonly unitOfWork: UnitOfWork;
  readonly verifier: SignatureVerifier;
  /** The service's group commit (vouchers and receipts share it, and one fsync). */
  readonly commits: GroupCommit<StoreTx>;
  /** Server-side spending limits [docs/DESIGN.md rule 12]. */
  readonly spending: SpendingGuard;
  /** After a voucher commits (the early-settlement threshold). */
  readonly onCommitted: (channel: CachedChannel) => void;
}

export class VoucherIngest {
  /** Vouchers being judged, by channel (hex) and by sending device: requests wait on their own. */
  private readonly inFlight = new InFlight();
  private readonly replyQos: 0 | 1;

  constructor(private readonly parts: VoucherIngestParts) {
    this.replyQos = parts.deps.options.voucherReplyQos;
  }

  /** Handles one published voucher; resolves once it is durable (or rejected) and answered. */
  handle(device: string, payload: Uint8Array, form: WireForm = 'json'): Promise<void> {
    const arrivedMs = performance.now();
    let signed: SignedVoucher;
    try {
      signed = form === 'binary' ? decodeVoucherFrame(standalone(payload)) : this.decodeJson(payload);
    } catch (error) {
      return this.answer(device, rejectionOf(error), arrivedMs, form);
    }
    const channelKey = toHex(signed.voucher.channelId);
    const work = this.judgeInOrder(device, signed, channelKey).catch((error: unknown) => {
      if (!(error instanceof MqpayError)) this.parts.deps.logger.error({ err: error, device }, 'voucher ingest failed');
      return rejectionOf(error);
    }).then((outcome) => this.answer(device, outcome, arrivedMs, form));
    return this.inFlight.track([channelKey, device], work);
  }

  /**
   * A channel's vouchers are judged in the order they arrived [docs/DESIGN.md rule 16]. Over the
   * SQLite store every read is answered in order within the turn, so judging them concurrently
   * keeps that order. Over a shared network store (the cluster's PostgreSQL) a pool answers the
   * reads of a judgement (the channel, the payer's limits) in any order, so seq 6 could be judged
   * before seq 5 and seq 5 refused as not increasing (measured: about 20% of a payer's
   * back-to-back vouchers): there, each waits until the channel's earlier vouchers are answered.
   */
  private judgeInOrder(device: string, signed: SignedVoucher, channelKey: string): Promise<Outcome> {
    if (this.parts.deps.options.storeShared !== true) return this.judge(device, signed, channelKey);
    return this.inFlight.settled(channelKey).then(() => this.judge(device, signed, channelKey));
  }

  /**
   * Resolves once every voucher received so far on `key` (a channel in hex, or the sending
   * device) is judged and answered. A close or top-up waits for it, so it is handled after the
   * vouchers sent before it, even while their signatures are with the verify worker.
   */
  received(key: string): Promise<void> {
    return this.inFlight.settled(key);
  }

  private decodeJson(payload: Uint8Array): SignedVoucher {
    const message = parsePayload(voucherMessageSchema, payload);
    const bytes = fromHex(message.voucher, VOUCHER_BYTES);
    const signature = fromHex(message.signature, SIGNATURE_BYTES);
    return { voucher: decodeVoucher(bytes), bytes, signature };
  }

  private async answer(device: string, outcome: Outcome, arrivedMs: number, form: WireForm): Promise<void> {
    const { transport, logger } = this.parts.deps;
    const options = { qos: this.replyQos };
    if (!outcome.accepted) {
      this.parts.telemetry.emit({ kind: 'voucher.rejected', code: outcome.code, latencyMs: performance.now() - arrivedMs, device });
      await transport.publish(...rejectionReply(device, outcome, form), options);
      return;
    }
    this.parts.telemetry.emit({ kind: 'voucher.accepted', latencyMs: performance.now() - arrivedMs });
    const { voucher, bytes, signature } = outcome.signed;
    if (outcome.forward) {
      // The payer's verdict never waits for the payee's socket [docs/DESIGN.md rule 15]; a lost
      // forward is superseded by the next cumulative voucher, and the payee can re-read it.
      transport.publish(inboxTopic(outcome.channel.payee, 'voucher-bin'), encodeVoucherForward(device, bytes, signature), options).catch((error: unknown) => logger.warn({ err: error }, 'voucher forward not delivered'));
    }
    if (form === 'binary') {
      await transport.publish(inboxTopic(device, 'voucher-bin'), encodeVoucherAccepted(voucher.channelId, voucher.seq, voucher.total), options);
      return;
    }
    const accepted: VoucherInboxMessage = { v: PROTOCOL_VERSION, type: 'voucher.accepted', channel: toHex(voucher.channelId), seq: voucher.seq.toString(), total: formatAmount(voucher.total) };
    await transport.publish(inboxTopic(device, 'voucher'), payloadOf(accepted), options);
  }

  /**
   * With a store shared by other processes, a refusal may come from a stale cached channel
   * (a top-up, a redemption or a rotation handled by another worker) or from the store's
   * conditional write that caught one: the channel is reloaded and the voucher judged once more
   * against the store as it is [docs/DESIGN.md rule 16]. Only a refusal is judged again, and
   * only when no voucher of this process is still being written to the channel.
   */
  private async judge(device: string, signed: SignedVoucher, channelKey: string): Promise<Outcome> {
    const outcome = await this.judgeOnce(device, signed, channelKey);
    if (this.parts.deps.options.storeShared !== true || outcome.accepted || !STALE_CACHE_MAY_EXPLAIN.has(outcome.code)) return outcome;
    const channelId = signed.voucher.channelId;
    const cached = this.parts.cache.peek(channelId);
    if (cached !== null && cached.pendingCommit !== null) return outcome;
    this.parts.cache.forget(channelId);
    return this.judgeOnce(device, signed, channelKey);
  }

  /** `channelKey`: the channel id in hex (a cache hit costs no promise). */
  private async judgeOnce(device: string, signed: SignedVoucher, channelKey: string): Promise<Outcome> {
    const { cache, deps } = this.parts;
    const { voucher, bytes, signature } = signed;
    const channel = cache.hit(channelKey) ?? (await cache.get(voucher.channelId, channelKey));
    const nowMs = deps.clock.nowMs();
    const nowSeconds = secondsOf(nowMs);
    if (channel === null) return rejectedOutcome(signed, 'CHANNEL_UNKNOWN');
    const first = judgeVoucher(channel, device, voucher, nowSeconds);
    if (first.kind === 'reject') return rejectedOutcome(signed, first.code);
    const payerKey = channel.payerKey;
    if (!isKnownLatest(channel, signed) && !(await this.verifyTimed(signature, bytes, payerKey)) && !(await this.acceptedBefore(channel, signed, first))) {
      return this.badSignature(channel, signed);
    }
    // Read before the final judgement, so that judging, the limit check and counting the spend
    // happen in one synchronous step: no other voucher of this payer can slip in between.
    const spending = await this.parts.spending.forVoucher(channel.payer, nowMs);
    // Verifying may have waited for the worker: judge again against the channel as it is now
    // (a failed write may have made the cache reload it from the store meanwhile).
    const current = cache.hit(channelKey) ?? (await cache.get(voucher.channelId, channelKey));
    if (current === null) return rejectedOutcome(signed, 'CHANNEL_UNKNOWN');
    const verdict = judgeVoucher(current, device, voucher, nowSeconds);
    // A rotation committed while the signature was with the worker: the old key moves nothing
    // more [docs/DESIGN.md rule 12]. (One queued before the rotation's unit of work is committed
    // ahead of it: the unit of work flushes the group commit first.)
    if (verdict.kind === 'advance' && !bytesEqual(current.payerKey, payerKey)) return rejectedOutcome(signed, 'KEY_ROTATED', 'the payer rotated its key meanwhile');
    try {
      return await this.verified(current, signed, verdict, spending, nowMs);
    } catch (error) {
      // A failed write: answer with the voucher's channel and seq so the payer knows which one.
      if (error instanceof MqpayError) return rejectedOutcome(signed, error.code, error.detail);
      throw error;
    }
  }

  /**
   * A re-send of a voucher accepted before a key rotation: its signature is the one the service
   * stored for that seq (made with the key of the time), so it is answered as before, not
   * refused [docs/DESIGN.md rule 12]. Only for verdicts that change nothing.
   */
  private async acceptedBefore(channel: CachedChannel, signed: SignedVoucher, first: VoucherVerdict): Promise<boolean> {
    if (first.kind === 'repeat-latest') return channel.latestSignature !== null && bytesEqual(channel.latestSignature, signed.signature);
    if (first.kind !== 'older') return false;
    await this.durable(channel);
    const earlier = await this.parts.deps.store.reads.voucherAt(signed.voucher.channelId, signed.voucher.seq);
    return earlier !== null && earlier.total === signed.voucher.total && bytesEqual(earlier.signature, signed.signature);
  }

  /** SIGNATURE_INVALID, or KEY_ROTATED when a key the payer rotated away from made it (a rare path). */
  private async badSignature(channel: CachedChannel, signed: SignedVoucher): Promise<Outcome> {
    const rotated = await signedByRetiredKey(this.parts.deps.store.reads, channel.payer, signed.signature, signed.bytes);
    return rejectedOutcome(signed, rotated ? 'KEY_ROTATED' : 'SIGNATURE_INVALID', rotated ? 'signed with a key the payer has rotated away from' : undefined);
  }

  /** Verifies on the pool, reporting the time it took (queue included) to telemetry. */
  private async verifyTimed(signature: Uint8Array, bytes: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
    const startedMs = performance.now();
    const valid = await this.parts.verifier.verify(signature, bytes, publicKey);
    this.parts.telemetry.emit({ kind: 'verify', durationMs: performance.now() - startedMs });
    return valid;
  }

  /** Waits until the channel's latest voucher is committed; throws if its write failed. */
  private async durable(channel: CachedChannel): Promise<void> {
    if (channel.pendingCommit !== null) await channel.pendingCommit;
  }

  /** The verdict on a voucher whose signature is known to be the payer's. */
  private async verified(channel: CachedChannel, signed: SignedVoucher, verdict: VoucherVerdict, spending: VoucherSpending, nowMs: number): Promise<Outcome> {
    const { voucher } = signed;
    const accepted = (forward: boolean): Outcome => ({ accepted: true, channel, signed, forward });
    switch (verdict.kind) {
      case 'reject':
        return rejectedOutcome(signed, verdict.code);
      case 'repeat-latest':
        await this.durable(channel); // the first copy may still be in its batch: answer once it is on disk
        return accepted(true);
      case 'older': {
        await this.durable(channel);
        const earlier = await this.parts.deps.store.reads.voucherAt(voucher.channelId, voucher.seq);
        if (earlier === null) return rejectedOutcome(signed, 'VOUCHER_SEQ_NOT_INCREASING', `latest seq is ${channel.latestSeq}`);
        if (earlier.total === voucher.total) return accepted(false);
        await this.recordEvidence(channel, signed, earlier.total);
        return rejectedOutcome(signed, 'VOUCHER_DOUBLE_SIGNED', `seq ${voucher.seq} was accepted with another total`);
      }
      case 'double-signed':
        await this.durable(channel);
        await this.recordEvidence(channel, signed, channel.latestTotal);
        return rejectedOutcome(signed, 'VOUCHER_DOUBLE_SIGNED', `seq ${voucher.seq} was accepted with another total`);
      case 'advance': {
        // The increase is one payment against the payer's server-side limits; it counts in the
        // window now (in flight), and is taken back if the commit fails. A limit throws its code.
        const reservation = this.parts.spending.reserve(spending, channel.payer, channel.payee, subAmount(voucher.total, channel.latestTotal), nowMs);
        // Judge the next voucher against this one at once, even before the batch commits.
        channel.latestSeq = voucher.seq;
        channel.latestTotal = voucher.total;
        channel.latestSignature = signed.signature;
        channel.latestVoucher = signed.bytes;
        await this.committed(channel, voucher.seq, voucher.total, signed.bytes, signed.signature, reservation);
        return accepted(true);
      }
    }
  }

  private recordEvidence(channel: CachedChannel, signed: SignedVoucher, acceptedTotal: Amount): Promise<void> {
    const { deps, unitOfWork, telemetry } = this.parts;
    return recordDoubleSignEvidence(deps, unitOfWork, telemetry, { payer: channel.payer, voucher: signed.voucher, bytes: signed.bytes, signature: signed.signature, acceptedTotal });
  }

  /** Queues the voucher's write, published on the channel (pinning it) so re-sends can wait for it. */
  private async committed(channel: CachedChannel, seq: bigint, total: Amount, voucher: Uint8Array, signature: Uint8Array, spend: SpendReservation): Promise<void> {
    const nowMs = this.parts.deps.clock.nowMs();
    const verifiedWith = channel.payerKey; // judged just now: the key that verified this voucher
    const commit = this.parts.commits.run(async (tx, afterCommit) => {
      afterCommit(() => this.parts.onCommitted(channel));
      if (this.parts.deps.options.storeShared === true) await checkPayerKey(tx, channel.payer, verifiedWith);
      await tx.appendVoucher({ channel: channel.num, seq, total, voucher, signature, redeeming: false, nowMs });
      // In the voucher's own savepoint: the rolling windows survive a restart, and a voucher
      // that is rolled back takes its spend with it.
      await tx.addSpend(spend.device, spend.minute, spend.amount);
    }).then(() => spend.committed(), (error: unknown) => {
      // Not durable: drop the optimistic state so the next voucher is judged against the store.
      // Re-sends waiting on this commit hear the same answer as the voucher itself.
      spend.failed();
      this.parts.cache.forget(channel.id);
      if (error instanceof MqpayError) throw error;
      this.parts.deps.logger.error({ err: error, channel: toHex(channel.id) }, 'voucher write failed');
      throw new MqpayError('SERVICE_UNAVAILABLE', 'could not store the voucher');
    });
    channel.pendingCommit = commit;
    try {
      await commit;
    } finally {
      if (channel.pendingCommit === commit) channel.pendingCommit = null;
    }
  }
}
