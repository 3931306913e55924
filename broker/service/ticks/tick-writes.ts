// The tick path's writes into the group commit vouchers use. A channel's ticks judged while its
// write is still queued move that write up (the store keeps the chain's highest index only), so a
// stream costs one write per channel per batch, not one per tick; the spends of every tick it
// covers go into the same savepoint [docs/DESIGN.md rule 12].
import { addAmount, amountOf, type Amount } from '../../../shared/amount.js';
import { MqpayError } from '../../../shared/errors.js';
import { toHex } from '../../../shared/hex.js';
import { TICK_SKIP_MAX } from '../../../shared/limits.js';
import type { GroupCommit } from '../../../sqlite/group-commit.js';
import type { AcceptedTick, StoreTx } from '../../store/port.js';
import type { CachedChannel, ChannelCache } from '../channel-cache.js';
import type { ServiceDeps } from '../ports.js';
import type { SpendReservation } from '../spending/spending-guard.js';
import { checkPayerKey } from '../payer-key-check.js';

export interface TickWriteParts {
  readonly deps: ServiceDeps;
  readonly cache: ChannelCache;
  readonly commits: GroupCommit<StoreTx>;
  /** After a chain write commits (the early-settlement threshold). */
  readonly onCommitted: (channel: CachedChannel) => void;
}

export interface QueuedTick {
  tick: AcceptedTick;
  /** The spends of every tick this write covers, stored in its savepoint. */
  readonly spends: SpendReservation[];
  /** The lowest index whose answer waits on this write (the payee's copy must check from there). */
  readonly firstIndex: number;
  started: boolean;
  commit: Promise<void>;
}

/** The positive spends of one write summed per minute: one bucket write each, however many ticks the write covers. */
function spendByMinute(spends: readonly SpendReservation[]): Map<number, Amount> {
  const sums = new Map<number, Amount>();
  for (const spend of spends) if (spend.amount > 0n) sums.set(spend.minute, addAmount(sums.get(spend.minute) ?? amountOf(0n), spend.amount));
  return sums;
}

export class TickWrites {
  /** Per channel, the tick write queued in the group commit and not yet started. */
  private readonly queuedTicks = new WeakMap<CachedChannel, QueuedTick>();

  constructor(private readonly parts: TickWriteParts) {}

  /** Queues the tick's write, or moves the channel's queued one up to it (its values are read when the batch runs). */
  writeTick(channel: CachedChannel, tick: AcceptedTick, spend: SpendReservation, signerKey: Uint8Array): QueuedTick {
    // Only a write of the same chain: a tick of the next checkpoint's chain must not run (in a write
    // queued before that checkpoint's) ahead of the checkpoint it builds on.
    const queued = this.queuedTicks.get(channel);
    const sameChain = queued !== undefined && queued.tick.seq === tick.seq;
    // Bounded so the payee's copy of the highest never skips more than one check may hash.
    if (queued !== undefined && sameChain && !queued.started && tick.index - queued.firstIndex < TICK_SKIP_MAX) {
      queued.tick = tick;
      queued.spends.push(spend);
      return queued;
    }
    const entry: QueuedTick = { tick, spends: [spend], firstIndex: sameChain ? queued.tick.index : tick.index, started: false, commit: Promise.resolve() };
    entry.commit = this.write(channel, entry.spends, async (tx) => {
      entry.started = true;
      // The chain pays only while the key that signed its checkpoint is the payer's (a store shared by several brokers).
      if (this.parts.deps.options.storeShared === true) await checkPayerKey(tx, channel.payer, signerKey);
      await tx.appendTick(entry.tick);
    });
    this.queuedTicks.set(channel, entry);
    const done = () => { if (this.queuedTicks.get(channel) === entry) this.queuedTicks.delete(channel); };
    entry.commit.then(done, done);
    return entry;
  }

  /** Queues the write in the group commit, pinning the channel until it lands; a failure forgets the optimistic state. */
  write(channel: CachedChannel, spends: readonly SpendReservation[], write: (tx: StoreTx) => Promise<void>): Promise<void> {
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
