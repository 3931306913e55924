// Streaming with hash-chain ticks (protocol v3): one signed checkpoint commits to a chain and a
// price per tick, then each payment reveals the next link(s), checked by the service and the
// payee with one hash per tick instead of a signature.
//
// Crash safety [docs/DESIGN.md rule 5]: the checkpoint takes a seq through the same reservation
// as a voucher (agent/payer/voucher-signer.ts), and its write, with the chain's seed, is durable
// before the checkpoint is published, so no seq is ever signed twice and the chain is never lost
// while the service may hold its checkpoint. Ticks raise the channel's signed total at that seq
// in writes without an fsync (the service holds what it accepted; after a crash the agent adopts
// the service's total before it signs again, and starts a new chain).
import { addAmount, amountOf, subAmount, type Amount } from '../../shared/amount.js';
import { encodeCheckpoint } from '../../shared/checkpoint.js';
import { sign } from '../../shared/crypto.js';
import { MqpayError } from '../../shared/errors.js';
import { HashChain } from '../../shared/hash-chain.js';
import { toHex } from '../../shared/hex.js';
import { TICK_SKIP_MAX } from '../../shared/limits.js';
import { encodeSignedCheckpoint } from '../../shared/tick-frames.js';
import type { TickVerdict } from '../../shared/tick-verdict.js';
import { encodeTick } from '../../shared/tick.js';
import type { AgentContext } from '../context.js';
import { Deadline } from '../deadline.js';
import { TICK_CHAIN_LENGTH_DEFAULT } from '../limits.js';
import { checkPolicy } from '../policy.js';
import { putPayerChain, recordTickAccepted, releaseTicks } from '../store/chains.js';
import { recordSigned, type PayerChannel } from '../store/payer-channels.js';
import { recordSpending, spentSince } from '../store/spending.js';
import type { Payment } from '../types.js';
import type { ChannelFunding } from './channel-funding.js';
import type { SeqSync } from './seq-sync.js';
import { ChannelUnusable, expiryOf, signableChannel, takeNextSeq } from './voucher-signer.js';

const CHAIN_SEED_BYTES = 32;

/** Refusals of a tick that a new checkpoint answers (the chain, not the payment, is the problem). */
const RETRY_ON_FRESH_CHAIN: ReadonlySet<string> = new Set(['KEY_ROTATED', 'TICK_CHECKPOINT_UNKNOWN']);

/** The chain a payer is streaming on to one payee. */
interface ActiveChain {
  readonly channelId: Uint8Array;
  readonly seq: bigint;
  readonly chain: HashChain;
  readonly price: Amount;
  readonly startTotal: Amount;
  released: number;
}

const verdictKey = (channelId: Uint8Array, seq: bigint, index: number): string => `${toHex(channelId)}:${seq}:${index}`;

export class TickPayer {
  /** By payee. */
  private readonly active = new Map<string, ActiveChain>();
  private readonly waiting = new Map<string, (verdict: TickVerdict) => void>();

  constructor(private readonly ctx: AgentContext, private readonly funding: ChannelFunding, private readonly seqSync: SeqSync) {}

  /** A verdict on `in/tick`: answers the frame it names (and, coalesced, every lower one waiting). */
  onVerdict(verdict: TickVerdict): void {
    const prefix = `${toHex(verdict.channelId)}:${verdict.checkpointSeq}:`;
    for (const [key, resolve] of this.waiting) {
      if (!key.startsWith(prefix)) continue;
      const index = Number(key.slice(prefix.length));
      if (index === verdict.index || (verdict.code === null && index < verdict.index)) {
        this.waiting.delete(key);
        resolve(verdict);
      }
    }
  }

  /**
   * Pays at least `due` to `payee` in whole ticks of `price`; resolves with what was paid once
   * the service accepted it. Starts a chain (a checkpoint) when there is none with room.
   */
  async pay(payee: string, due: Amount, price: Amount): Promise<Payment> {
    const deadline = new Deadline(this.ctx.clock, this.ctx.timing.paymentTimeoutMs);
    const ticks = Number((due + price - 1n) / price);
    for (let attempt = 1; ; attempt++) {
      const current = this.active.get(payee);
      const chain = current !== undefined && current.price === price && current.released + ticks <= current.chain.length ? current : await this.start(payee, price, ticks, deadline);
      try {
        return await this.release(payee, chain, ticks, deadline);
      } catch (error) {
        this.active.delete(payee);
        // A voucher (or an expiry) moved the channel on, or the key that signed the checkpoint
        // was rotated away from: one more try on a fresh chain.
        const fresh = error instanceof ChannelUnusable || (error instanceof MqpayError && RETRY_ON_FRESH_CHAIN.has(error.code));
        if (!fresh || attempt >= 2) throw error instanceof ChannelUnusable ? new MqpayError('SERVICE_UNAVAILABLE', error.message) : error;
      }
    }
  }

  /** Signs and durably stores a checkpoint (seed included), publishes it and waits for its verdict. */
  private async start(payee: string, price: Amount, ticksNeeded: number, deadline: Deadline): Promise<ActiveChain> {
    const { ctx } = this;
    const consequence = 'nothing was paid';
    const ready = this.funding.ensure(payee, amountOf(price * BigInt(ticksNeeded)));
    const channel = await deadline.bound(ready, { name: 'channel', awaited: `open channel to ${payee} with room`, consequence });
    const unsynced = this.seqSync.ready();
    if (unsynced !== null) await deadline.bound(unsynced, { name: 'sync', awaited: 'sync with the service after a crash', consequence });
    const seed = ctx.random(CHAIN_SEED_BYTES);
    const { chain, frame } = await ctx.batch.run(() => this.signCheckpoint(channel, seed, price, ticksNeeded), { durable: true });
    await this.published(frame, chain.channelId, chain.seq, 0, deadline);
    this.active.set(payee, chain);
    return chain;
  }

  /** Inside a durable write: takes a seq, signs the checkpoint over a fresh chain, stores both. */
  private signCheckpoint(funded: PayerChannel, seed: Uint8Array, price: Amount, ticksNeeded: number): { chain: ActiveChain; frame: Uint8Array } {
    const { ctx } = this;
    const nowMs = ctx.clock.nowMs();
    const channel = signableChannel(ctx, funded.id, nowMs);
    const room = subAmount(channel.deposit, channel.signedTotal) / price;
    const length = Number(room < BigInt(TICK_CHAIN_LENGTH_DEFAULT) ? room : BigInt(TICK_CHAIN_LENGTH_DEFAULT));
    if (length < ticksNeeded || length < 1) throw new ChannelUnusable('not enough unspent deposit');
    const seq = takeNextSeq(ctx, channel, true);
    const hashChain = new HashChain(seed, length);
    const bytes = encodeCheckpoint({
      channelId: channel.id, seq, total: channel.signedTotal, expiresAtSeconds: expiryOf(ctx, nowMs, channel.expiresAtSeconds),
      chainRoot: hashChain.root, chainLength: length, pricePerTick: price,
    });
    const signature = sign(bytes, ctx.keys.secretKey);
    putPayerChain(ctx.db, { channel: channel.id, seq, seed, checkpoint: bytes, signature });
    recordSigned(ctx.db, channel.id, seq, channel.signedTotal);
    return { chain: { channelId: channel.id, seq, chain: hashChain, price, startTotal: channel.signedTotal, released: 0 }, frame: encodeSignedCheckpoint(bytes, signature) };
  }

  /** Releases `ticks` more links (the agent's policy first), publishes them, waits for the verdict. */
  private async release(payee: string, chain: ActiveChain, ticks: number, deadline: Deadline): Promise<Payment> {
    const { ctx } = this;
    const amount = amountOf(chain.price * BigInt(ticks));
    const index = chain.released + ticks;
    const total = addAmount(chain.startTotal, amountOf(chain.price * BigInt(index)));
    await ctx.batch.run(() => {
      const nowMs = ctx.clock.nowMs();
      const channel = signableChannel(ctx, chain.channelId, nowMs);
      if (channel.signedSeq !== chain.seq) throw new ChannelUnusable('a voucher moved the channel past the chain');
      checkPolicy(ctx.config.policy, payee, amount, (sinceMs, who) => spentSince(ctx.db, sinceMs, who), nowMs);
      releaseTicks(ctx.db, chain.channelId, chain.seq, index);
      recordSigned(ctx.db, chain.channelId, chain.seq, total);
      recordSpending(ctx.db, payee, amount, nowMs);
    }, { durable: false });
    const from = chain.released;
    chain.released = index;
    // One tick frame may skip at most TICK_SKIP_MAX links (one check hashes that many at most).
    for (let at = Math.min(from + TICK_SKIP_MAX, index); ; at = Math.min(at + TICK_SKIP_MAX, index)) {
      const frame = encodeTick({ channelId: chain.channelId, checkpointSeq: chain.seq, index: at, preimage: chain.chain.link(at) });
      await this.published(frame, chain.channelId, chain.seq, at, deadline);
      if (at === index) break;
    }
    return { channel: toHex(chain.channelId), payee, seq: chain.seq, total, amount };
  }

  /** Publishes a frame on `out/tick` and waits for the service's verdict on it. */
  private async published(frame: Uint8Array, channelId: Uint8Array, seq: bigint, index: number, deadline: Deadline): Promise<void> {
    const key = verdictKey(channelId, seq, index);
    const verdict = new Promise<TickVerdict>((resolve) => this.waiting.set(key, resolve));
    let answer: TickVerdict;
    try {
      await this.ctx.link.publishFrame('tick', frame);
      answer = await deadline.bound(verdict, { name: 'acceptance', awaited: 'acceptance from the service', consequence: `tick ${index} of checkpoint seq ${seq} may or may not be paid` });
    } finally {
      this.waiting.delete(key);
    }
    if (answer.code !== null) throw new MqpayError(answer.code, `tick ${index} of checkpoint seq ${seq}`);
    await this.ctx.batch.run(() => recordTickAccepted(this.ctx.db, channelId, seq, answer.total), { durable: false });
  }

  /** Stops waiting: every pending verdict is abandoned (its stream has ended). */
  stop(): void {
    this.waiting.clear();
    this.active.clear();
  }
}
