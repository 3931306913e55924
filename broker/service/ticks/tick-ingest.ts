// Hash-chain ticks (protocol v3) on `out/tick`: a signed checkpoint starts a channel's chain, each
// tick reveals its next link, checked with one hash (shared/tick-rules.ts). Frames of one channel
// are judged in arrival order (a queue per channel), each against the state the previous one left;
// the write joins the group commit vouchers use, and the verdict (and the payee's copy) goes out
// only once it is durable [docs/DESIGN.md rule 5]. No signature per tick: only a checkpoint is
// verified, on the verify pool.
import { addAmount, amountOf, subAmount, type Amount } from '../../../shared/amount.js';
import { MqpayError, type ErrorCode } from '../../../shared/errors.js';
import { bytesEqual, toHex } from '../../../shared/hex.js';
import { decodeCheckpoint } from '../../../shared/checkpoint.js';
import { decodeSignedCheckpoint, tickFrameKindOf, type SignedCheckpoint } from '../../../shared/tick-frames.js';
import { acceptTick, chainStateOf, chainTotal, judgeCheckpoint } from '../../../shared/tick-rules.js';
import { decodeTick, type Tick } from '../../../shared/tick.js';
import { secondsOf } from '../../../shared/time.js';
import { TICK_SKIP_MAX } from '../../../shared/limits.js';
import type { GroupCommit } from '../../../sqlite/group-commit.js';
import type { AcceptedTick, StoreTx } from '../../store/port.js';
import type { CachedChain, CachedChannel, ChannelCache } from '../channel-cache.js';
import type { ServiceDeps } from '../ports.js';
import { signedByRetiredKey } from '../retired-keys.js';
import { checkPayerKey } from '../payer-key-check.js';
import type { SpendingGuard, SpendReservation } from '../spending/spending-guard.js';
import type { SignatureVerifier } from '../vouchers/verify-pool.js';
import { TickAnswers, type TickOutcome } from './tick-answers.js';

export interface TickIngestParts {
  readonly deps: ServiceDeps;
  readonly cache: ChannelCache;
  readonly verifier: SignatureVerifier;
  readonly commits: GroupCommit<StoreTx>;
  /** Server-side spending limits: a checkpoint's and each tick's increase count like a voucher's [docs/DESIGN.md rule 12]. */
  readonly spending: SpendingGuard;
  /** After a chain write commits (the early-settlement threshold). */
  readonly onCommitted: (channel: CachedChannel) => void;
}

interface QueuedTick {
  tick: AcceptedTick;
  /** The spends of every tick this write covers, stored in its savepoint. */
  readonly spends: SpendReservation[];
  /** The lowest index whose answer waits on this write (the payee's copy must check from there). */
  readonly firstIndex: number;
  started: boolean;
  commit: Promise<void>;
}

/** The signer of a stored chain whose checkpoint the payer's current key did not make: matches no key. */
const RETIRED_SIGNER = new Uint8Array(32);

/** The positive spends of one write summed per minute: one bucket write each, however many ticks the write covers. */
function spendByMinute(spends: readonly SpendReservation[]): Map<number, Amount> {
  const sums = new Map<number, Amount>();
  for (const spend of spends) if (spend.amount > 0n) sums.set(spend.minute, addAmount(sums.get(spend.minute) ?? amountOf(0n), spend.amount));
  return sums;
}

const refused = (code: ErrorCode, channelId: Uint8Array, checkpointSeq: bigint, index: number): TickOutcome => ({ accepted: false, code, channelId, checkpointSeq, index });

export class TickIngest {
  /** The tail of each channel's judging queue (hex id); removed when it drains. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly answers: TickAnswers;
  /**
   * Per channel, the tick write queued in the group commit and not yet started: a later tick of
   * the channel replaces what it will write (the highest index is all the store keeps) and shares
   * its commit, so a stream costs one write per channel per batch, not one per tick.
   */
  private readonly queuedTicks = new WeakMap<CachedChannel, QueuedTick>();

  constructor(private readonly parts: TickIngestParts) {
    this.answers = new TickAnswers(parts.deps);
  }

  /** Handles one frame of `out/tick`; resolves once it is durable (or refused) and answered. */
  async handle(device: string, payload: Uint8Array): Promise<void> {
    let outcome: TickOutcome;
    try {
      outcome = await this.judged(device, payload);
    } catch (error) {
      if (!(error instanceof MqpayError)) this.parts.deps.logger.error({ err: error, device }, 'tick ingest failed');
      outcome = refused(error instanceof MqpayError ? error.code : 'INTERNAL', new Uint8Array(32), 0n, 0);
    }
    if (outcome.accepted && outcome.superseded?.() === true) return;
    await this.answers.send(device, outcome);
  }

  private async judged(device: string, payload: Uint8Array): Promise<TickOutcome> {
    if (tickFrameKindOf(payload) === 'checkpoint') {
      const signed = decodeSignedCheckpoint(payload);
      return this.inOrder(signed.checkpoint.channelId, () => this.judgeCheckpoint(device, signed));
    }
    const tick = decodeTick(payload); // a verdict frame from a device is refused here too (wrong tag)
    return this.inOrder(tick.channelId, () => this.judgeTick(device, tick));
  }

  /** Runs `judge` after every frame of the channel received before it was judged; the commit is awaited outside the queue. */
  private async inOrder(channelId: Uint8Array, judge: () => Promise<{ outcome: TickOutcome; commit: Promise<void> | null }>): Promise<TickOutcome> {
    const key = toHex(channelId);
    const previous = this.queues.get(key) ?? Promise.resolve();
    const mine = previous.then(judge, judge);
    const tail = mine.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => { if (this.queues.get(key) === tail) this.queues.delete(key); });
    const { outcome, commit } = await mine;
    if (commit === null) return outcome;
    try {
      await commit;
      return outcome;
    } catch (error) {
      return refused(error instanceof MqpayError ? error.code : 'SERVICE_UNAVAILABLE', outcome.channelId, outcome.checkpointSeq, outcome.index);
    }
  }

  /** The channel's current chain, from the store the first time the cached channel is asked. */
  private async chainOf(channel: CachedChannel): Promise<CachedChain | null> {
    if (channel.chain === undefined) {
      const stored = await this.parts.deps.store.reads.chainOf(channel.id);
      const payerKey = channel.payerKey;
      // Made by the payer's current key, or by one it rotated away from (then no key pays for it).
      const current = stored !== null && (await this.parts.verifier.verify(stored.signature, stored.checkpoint, payerKey));
      channel.chain = stored === null ? null : {
        ...chainStateOf(decodeCheckpoint(stored.checkpoint)), highestIndex: stored.highestIndex, highestLink: stored.highestLink, bytes: stored.checkpoint, signature: stored.signature,
        signerKey: current ? payerKey : RETIRED_SIGNER,
      };
    }
    // A voucher (or a later checkpoint) moved the channel past this chain.
    return channel.chain !== null && channel.chain.checkpoint.seq === channel.latestSeq ? channel.chain : null;
  }

  private async judgeTick(device: string, tick: Tick): Promise<{ outcome: TickOutcome; commit: Promise<void> | null }> {
    const no = (code: ErrorCode) => ({ outcome: refused(code, tick.channelId, tick.checkpointSeq, tick.index), commit: null });
    const channel = await this.parts.cache.get(tick.channelId);
    if (channel === null) return no('CHANNEL_UNKNOWN');
    if (channel.payer !== device) return no('CHANNEL_NOT_PAYER');
    const nowMs = this.parts.deps.clock.nowMs();
    // Read before the judgement, so that judging, the limit check and counting the spend are one
    // synchronous step (as for a voucher).
    const spending = await this.parts.spending.forVoucher(channel.payer, nowMs);
    const chain = await this.chainOf(channel);
    if (chain === null || chain.checkpoint.seq !== tick.checkpointSeq) return no('TICK_CHECKPOINT_UNKNOWN');
    const accepted = (): Extract<TickOutcome, { accepted: true }> => ({ accepted: true, channel, channelId: tick.channelId, checkpointSeq: tick.checkpointSeq, index: tick.index, total: channel.latestTotal, forward: tick });
    // A re-send of the highest tick (a QoS 1 redelivery): the same answer, once it is durable.
    if (tick.index === chain.highestIndex && bytesEqual(tick.preimage, chain.highestLink)) return { outcome: accepted(), commit: channel.pendingCommit };
    if (channel.state !== 'open') return no(channel.state === 'closed' ? 'CHANNEL_CLOSED' : 'CHANNEL_CLOSING');
    if (!bytesEqual(chain.signerKey, channel.payerKey)) return no('KEY_ROTATED');
    let next;
    let spend: SpendReservation;
    try {
      next = acceptTick(chain, tick, channel.deposit);
      // The ticks this one pays for are one payment against the payer's limits [docs/DESIGN.md rule 12].
      spend = this.parts.spending.reserve(spending, channel.payer, channel.payee, subAmount(chainTotal(next), channel.latestTotal), nowMs);
    } catch (error) {
      if (error instanceof MqpayError) return no(error.code);
      throw error;
    }
    channel.chain = { ...chain, highestIndex: next.highestIndex, highestLink: next.highestLink };
    const total = chainTotal(next);
    channel.latestTotal = total;
    const entry = this.writeTick(channel, { channel: channel.num, seq: tick.checkpointSeq, index: tick.index, link: tick.preimage, total }, spend, chain.signerKey);
    // Answered only if it is still the highest of its write once committed: the verdict (and the
    // payee's copy) for the highest answers every lower tick the same commit made durable.
    return { outcome: { ...accepted(), superseded: () => entry.tick.index !== tick.index }, commit: entry.commit };
  }

  private async judgeCheckpoint(device: string, signed: SignedCheckpoint): Promise<{ outcome: TickOutcome; commit: Promise<void> | null }> {
    const { checkpoint } = signed;
    const no = (code: ErrorCode) => ({ outcome: refused(code, checkpoint.channelId, checkpoint.seq, 0), commit: null });
    const nowSeconds = secondsOf(this.parts.deps.clock.nowMs());
    const channel = await this.parts.cache.get(checkpoint.channelId);
    if (channel === null) return no('CHANNEL_UNKNOWN');
    const current = await this.chainOf(channel);
    const same = current !== null && bytesEqual(current.bytes, signed.bytes) && bytesEqual(current.signature, signed.signature);
    const first = judgeCheckpoint(channel, device, checkpoint, nowSeconds, same);
    const accepted = (): TickOutcome => ({ accepted: true, channel, channelId: checkpoint.channelId, checkpointSeq: checkpoint.seq, index: 0, total: channel.latestTotal, forward: signed });
    if (first.kind === 'reject') return no(first.code);
    if (first.kind === 'repeat') return { outcome: accepted(), commit: channel.pendingCommit };
    const payerKey = channel.payerKey;
    if (!(await this.parts.verifier.verify(signed.signature, signed.bytes, payerKey))) {
      const rotated = await signedByRetiredKey(this.parts.deps.store.reads, channel.payer, signed.signature, signed.bytes);
      return no(rotated ? 'KEY_ROTATED' : 'SIGNATURE_INVALID');
    }
    const nowMs = this.parts.deps.clock.nowMs();
    const spending = await this.parts.spending.forVoucher(channel.payer, nowMs);
    // The signature waited for the worker: judge again against the channel as it is now.
    const again = judgeCheckpoint(channel, device, checkpoint, nowSeconds, false);
    if (again.kind !== 'advance') return no(again.kind === 'reject' ? again.code : 'VOUCHER_SEQ_NOT_INCREASING');
    if (!bytesEqual(channel.payerKey, payerKey)) return no('KEY_ROTATED');
    let spend: SpendReservation;
    try {
      // What the checkpoint raises the total by is a payment like a voucher's [docs/DESIGN.md rule 12].
      spend = this.parts.spending.reserve(spending, channel.payer, channel.payee, subAmount(checkpoint.total, channel.latestTotal), nowMs);
    } catch (error) {
      if (error instanceof MqpayError) return no(error.code);
      throw error;
    }
    Object.assign(channel, { latestSeq: checkpoint.seq, latestTotal: checkpoint.total, latestSignature: signed.signature, latestVoucher: null });
    channel.chain = { ...chainStateOf(checkpoint), bytes: signed.bytes, signature: signed.signature, signerKey: payerKey };
    const commit = this.write(channel, [spend], async (tx) => {
      if (this.parts.deps.options.storeShared === true) await checkPayerKey(tx, channel.payer, payerKey);
      await tx.appendCheckpoint({
        channel: channel.num, seq: checkpoint.seq, total: checkpoint.total, checkpoint: signed.bytes, signature: signed.signature,
        root: checkpoint.chainRoot, chainLength: checkpoint.chainLength, pricePerTick: checkpoint.pricePerTick, nowMs,
      });
    });
    return { outcome: accepted(), commit };
  }

  /** Queues the tick's write, or moves the channel's queued one up to it (its values are read when the batch runs). */
  private writeTick(channel: CachedChannel, tick: AcceptedTick, spend: SpendReservation, signerKey: Uint8Array): QueuedTick {
    const queued = this.queuedTicks.get(channel);
    // Bounded so the payee's copy of the highest never skips more than one check may hash.
    if (queued !== undefined && !queued.started && tick.index - queued.firstIndex < TICK_SKIP_MAX) {
      queued.tick = tick;
      queued.spends.push(spend);
      return queued;
    }
    const entry: QueuedTick = { tick, spends: [spend], firstIndex: queued?.tick.index ?? tick.index, started: false, commit: Promise.resolve() };
    entry.commit = this.write(channel, entry.spends, async (tx) => {
      entry.started = true;
      // The chain pays only while the key that signed its checkpoint is the payer's.
      if (this.parts.deps.options.storeShared === true) await checkPayerKey(tx, channel.payer, signerKey);
      await tx.appendTick(entry.tick);
    });
    this.queuedTicks.set(channel, entry);
    const done = () => { if (this.queuedTicks.get(channel) === entry) this.queuedTicks.delete(channel); };
    entry.commit.then(done, done);
    return entry;
  }

  /** Queues the write in the group commit, pinning the channel until it lands; a failure forgets the optimistic state. */
  private write(channel: CachedChannel, spends: readonly SpendReservation[], write: (tx: StoreTx) => Promise<void>): Promise<void> {
    const commit = this.parts.commits.run(async (tx, afterCommit) => {
      afterCommit(() => this.parts.onCommitted(channel));
      await write(tx);
      // In the same savepoint: the rolling windows survive a restart, a rolled-back write takes its spends with it.
      for (const [minute, amount] of spendByMinute(spends)) await tx.addSpend(channel.payer, minute, amount);
    }).then(() => {
      for (const spend of spends) spend.committed();
    }, (error: unknown) => {
      for (const spend of spends) spend.failed();
      this.parts.cache.forget(channel.id);
      if (error instanceof MqpayError) throw error;
      this.parts.deps.logger.error({ err: error, channel: toHex(channel.id) }, 'tick write failed');
      throw new MqpayError('SERVICE_UNAVAILABLE', 'could not store the tick');
    });
    channel.pendingCommit = commit;
    void commit.then(() => undefined, () => undefined).finally(() => { if (channel.pendingCommit === commit) channel.pendingCommit = null; });
    return commit;
  }
}
