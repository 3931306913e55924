// Hash-chain ticks (protocol v3) on `out/tick`: a signed checkpoint starts a channel's chain, each
// tick reveals its next link, checked with one hash (shared/tick-rules.ts). Frames of one channel
// are judged in arrival order, each against the state the previous one left; the write joins the
// group commit vouchers use, and the verdict (and the payee's copy) goes out only once it is
// durable [docs/DESIGN.md rule 5]. No signature per tick: only a checkpoint is verified, on the
// verify pool.
//
// Frames are judged in rounds per channel: the frames of a channel that arrived while its previous
// round was being judged (a socket read's packets all arrive in one turn) are judged together,
// with one read of the channel, the chain and the payer's limits, then synchronously tick after
// tick. A round costs the promises and store reads of one frame, so a tick costs its hash and its
// bookkeeping; every frame of a round settles once the round's writes are durable and answered.
import { subAmount } from '../../../shared/amount.js';
import { MqpayError, type ErrorCode } from '../../../shared/errors.js';
import { bytesEqual, toHex } from '../../../shared/hex.js';
import { decodeCheckpoint } from '../../../shared/checkpoint.js';
import { decodeSignedCheckpoint, tickFrameKindOf, type SignedCheckpoint } from '../../../shared/tick-frames.js';
import { acceptTick, chainStateOf, chainTotal, judgeCheckpoint } from '../../../shared/tick-rules.js';
import { decodeTick, type Tick } from '../../../shared/tick.js';
import { secondsOf } from '../../../shared/time.js';
import type { CachedChain, CachedChannel } from '../channel-cache.js';
import { signedByRetiredKey } from '../retired-keys.js';
import { checkPayerKey } from '../payer-key-check.js';
import type { SpendingGuard, SpendReservation, VoucherSpending } from '../spending/spending-guard.js';
import type { SignatureVerifier } from '../vouchers/verify-pool.js';
import { TickAnswers, type TickOutcome } from './tick-answers.js';
import { TickRound, type Frame, type Judged } from './tick-round.js';
import { TickWrites, type TickWriteParts } from './tick-writes.js';

export interface TickIngestParts extends TickWriteParts {
  readonly verifier: SignatureVerifier;
  /** Server-side spending limits: a checkpoint's and each tick's increase count like a voucher's [docs/DESIGN.md rule 12]. */
  readonly spending: SpendingGuard;
}

/** What a round's ticks are judged against, read once per round (again after a checkpoint). */
interface TickContext {
  readonly channel: CachedChannel | null;
  readonly spending: VoucherSpending | null;
  readonly nowMs: number;
}

/** The signer of a stored chain whose checkpoint the payer's current key did not make: matches no key. */
const RETIRED_SIGNER = new Uint8Array(32);

const refused = (code: ErrorCode, channelId: Uint8Array, checkpointSeq: bigint, index: number): TickOutcome => ({ accepted: false, code, channelId, checkpointSeq, index });

/** The frame decoded, or the refusal of one that does not decode. */
function frameOf(device: string, payload: Uint8Array): Frame {
  if (tickFrameKindOf(payload) === 'checkpoint') {
    const signed = decodeSignedCheckpoint(payload);
    return { device, channelId: signed.checkpoint.channelId, tick: null, signed };
  }
  const tick = decodeTick(payload); // a verdict frame from a device is refused here too (wrong tag)
  return { device, channelId: tick.channelId, tick, signed: null };
}

export class TickIngest {
  /** Per channel (hex id), the round frames join while the one before is judged; removed when it drains. */
  private readonly rounds = new Map<string, { next: TickRound }>();
  private readonly answers: TickAnswers;
  private readonly writes: TickWrites;
  private lastKey: { readonly id: Uint8Array; readonly key: string } | null = null;

  constructor(private readonly parts: TickIngestParts) {
    this.answers = new TickAnswers(parts.deps);
    this.writes = new TickWrites(parts);
  }

  /** Handles one frame of `out/tick`; resolves once it is durable (or refused) and answered. */
  handle(device: string, payload: Uint8Array): Promise<void> {
    let frame: Frame;
    try {
      frame = frameOf(device, payload);
    } catch (error) {
      return this.answers.answer(device, refused(error instanceof MqpayError ? error.code : 'INTERNAL', new Uint8Array(32), 0n, 0));
    }
    const key = this.keyOf(frame.channelId);
    let queue = this.rounds.get(key);
    const idle = queue === undefined;
    if (queue === undefined) {
      queue = { next: new TickRound() };
      this.rounds.set(key, queue);
    }
    queue.next.frames.push(frame);
    const settled = queue.next.settled;
    if (idle) void this.drain(key, queue);
    return settled;
  }

  /** The channel's map key; a stream's frames name one channel after another, so the last key is kept rather than hexed again per frame. */
  private keyOf(channelId: Uint8Array): string {
    const last = this.lastKey;
    if (last !== null && bytesEqual(last.id, channelId)) return last.key;
    const key = toHex(channelId);
    this.lastKey = { id: channelId, key };
    return key;
  }

  /** Judges the channel's rounds one after the other until no frame waits; each round is answered once its writes are durable. */
  private async drain(key: string, queue: { next: TickRound }): Promise<void> {
    try {
      for (;;) {
        await undefined; // the rest of this turn's frames join the round
        const round = queue.next;
        if (round.frames.length === 0) return;
        queue.next = new TickRound();
        round.answer(await this.judgeRound(round.frames), this.answers);
      }
    } finally {
      this.rounds.delete(key);
    }
  }

  private async judgeRound(frames: readonly Frame[]): Promise<Judged[]> {
    const judged: Judged[] = [];
    let context: TickContext | null = null;
    for (const frame of frames) {
      const { tick, signed } = frame;
      try {
        if (signed !== null) {
          judged.push(await this.judgeCheckpoint(frame.device, signed));
          context = null; // the channel moved on: read again for the ticks after it
          continue;
        }
        context ??= await this.tickContext(frame.channelId);
        judged.push(this.judgeTick(frame.device, tick as Tick, context));
      } catch (error) {
        if (!(error instanceof MqpayError)) this.parts.deps.logger.error({ err: error, device: frame.device }, 'tick ingest failed');
        const named = tick ?? { channelId: frame.channelId, checkpointSeq: signed?.checkpoint.seq ?? 0n, index: 0 };
        judged.push({ device: frame.device, outcome: refused(error instanceof MqpayError ? error.code : 'INTERNAL', named.channelId, named.checkpointSeq, named.index), commit: null, entry: null });
      }
    }
    return judged;
  }

  /**
   * The channel, its chain and the payer's limits and window, read before the round's ticks so
   * that judging them, the limit checks and counting the spends are one synchronous step (as for
   * a voucher).
   */
  private async tickContext(channelId: Uint8Array): Promise<TickContext> {
    const nowMs = this.parts.deps.clock.nowMs();
    const channel = await this.parts.cache.get(channelId);
    if (channel === null) return { channel, spending: null, nowMs };
    const spending = await this.parts.spending.forVoucher(channel.payer, nowMs);
    await this.chainOf(channel);
    return { channel, spending, nowMs };
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
    return currentChain(channel);
  }

  /** Judges one tick against the round's context and the channel as the ticks before it left it. */
  private judgeTick(device: string, tick: Tick, context: TickContext): Judged {
    const { channel, spending, nowMs } = context;
    if (channel === null || spending === null) return refusedTick(device, tick, 'CHANNEL_UNKNOWN');
    if (channel.payer !== device) return refusedTick(device, tick, 'CHANNEL_NOT_PAYER');
    const chain = currentChain(channel);
    if (chain === null || chain.checkpoint.seq !== tick.checkpointSeq) return refusedTick(device, tick, 'TICK_CHECKPOINT_UNKNOWN');
    // A re-send of the highest tick (a QoS 1 redelivery): the same answer, once it is durable.
    if (tick.index === chain.highestIndex && bytesEqual(tick.preimage, chain.highestLink)) return { device, outcome: acceptedTick(channel, tick), commit: channel.pendingCommit, entry: null };
    if (channel.state !== 'open') return refusedTick(device, tick, channel.state === 'closed' ? 'CHANNEL_CLOSED' : 'CHANNEL_CLOSING');
    if (chain.signerKey !== channel.payerKey && !bytesEqual(chain.signerKey, channel.payerKey)) return refusedTick(device, tick, 'KEY_ROTATED');
    let next;
    let spend: SpendReservation;
    try {
      next = acceptTick(chain, tick, channel.deposit);
      // The ticks this one pays for are one payment against the payer's limits [docs/DESIGN.md rule 12].
      spend = this.parts.spending.reserve(spending, channel.payer, channel.payee, subAmount(chainTotal(next), channel.latestTotal), nowMs);
    } catch (error) {
      if (error instanceof MqpayError) return refusedTick(device, tick, error.code);
      throw error;
    }
    channel.chain = { ...chain, highestIndex: next.highestIndex, highestLink: next.highestLink };
    const total = chainTotal(next);
    channel.latestTotal = total;
    const entry = this.writes.writeTick(channel, { channel: channel.num, seq: tick.checkpointSeq, index: tick.index, link: tick.preimage, total }, spend, chain.signerKey);
    // Answered only if it is still the highest of its write once committed: the verdict (and the
    // payee's copy) for the highest answers every lower tick the same commit made durable.
    return { device, outcome: acceptedTick(channel, tick), commit: entry.commit, entry };
  }

  private async judgeCheckpoint(device: string, signed: SignedCheckpoint): Promise<Judged> {
    const { checkpoint } = signed;
    const no = (code: ErrorCode): Judged => ({ device, outcome: refused(code, checkpoint.channelId, checkpoint.seq, 0), commit: null, entry: null });
    const nowSeconds = secondsOf(this.parts.deps.clock.nowMs());
    const channel = await this.parts.cache.get(checkpoint.channelId);
    if (channel === null) return no('CHANNEL_UNKNOWN');
    const current = await this.chainOf(channel);
    const same = current !== null && bytesEqual(current.bytes, signed.bytes) && bytesEqual(current.signature, signed.signature);
    const first = judgeCheckpoint(channel, device, checkpoint, nowSeconds, same);
    const accepted = (commit: Promise<void> | null): Judged => ({
      device, outcome: { accepted: true, channel, channelId: checkpoint.channelId, checkpointSeq: checkpoint.seq, index: 0, total: channel.latestTotal, forward: signed }, commit, entry: null,
    });
    if (first.kind === 'reject') return no(first.code);
    if (first.kind === 'repeat') return accepted(channel.pendingCommit);
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
    const commit = this.writes.write(channel, [spend], async (tx) => {
      if (this.parts.deps.options.storeShared === true) await checkPayerKey(tx, channel.payer, payerKey);
      await tx.appendCheckpoint({
        channel: channel.num, seq: checkpoint.seq, total: checkpoint.total, checkpoint: signed.bytes, signature: signed.signature,
        root: checkpoint.chainRoot, chainLength: checkpoint.chainLength, pricePerTick: checkpoint.pricePerTick, nowMs,
      });
    });
    return accepted(commit);
  }
}

/** The chain ticks pay into: the cached one, unless a voucher (or a later checkpoint) moved the channel past it. */
function currentChain(channel: CachedChannel): CachedChain | null {
  const chain = channel.chain;
  return chain !== undefined && chain !== null && chain.checkpoint.seq === channel.latestSeq ? chain : null;
}

function refusedTick(device: string, tick: Tick, code: ErrorCode): Judged {
  return { device, outcome: refused(code, tick.channelId, tick.checkpointSeq, tick.index), commit: null, entry: null };
}

function acceptedTick(channel: CachedChannel, tick: Tick): TickOutcome {
  return { accepted: true, channel, channelId: tick.channelId, checkpointSeq: tick.checkpointSeq, index: tick.index, total: channel.latestTotal, forward: tick };
}
