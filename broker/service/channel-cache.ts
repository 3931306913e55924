// The voucher hot path's view of channels: loaded from SQLite once, then kept current in memory
// by every writer in this process (vouchers, settlements, top-ups, closes). Only the broker
// process writes channels, so the cache cannot go stale behind its back. Bounded: the oldest
// entries are dropped and simply reloaded when needed.
import type { Amount } from '../../shared/amount.js';
import { toHex } from '../../shared/hex.js';
import type { VoucherChannelState } from '../../shared/voucher-rules.js';
import { getChannel } from '../store/channels.js';
import { getDevice } from '../store/devices.js';
import type { Db } from '../store/open-database.js';

export const CHANNEL_CACHE_ENTRIES_MAX = 200_000;

export interface CachedChannel extends VoucherChannelState {
  readonly num: bigint;
  readonly id: Uint8Array;
  readonly payee: string;
  readonly payerKey: Uint8Array;
  latestSignature: Uint8Array | null;
  /** The latest voucher's bytes, when this process accepted it (null after a load from SQLite). */
  latestVoucher: Uint8Array | null;
  /** The commit of the latest accepted voucher while it is still in a batch. */
  pendingCommit: Promise<void> | null;
  settledTotal: Amount;
  // Mutable copies of the judged fields, updated as this process commits changes.
  deposit: Amount;
  state: 'open' | 'closed';
  latestSeq: bigint;
  latestTotal: Amount;
}

export class ChannelCache {
  private readonly entries = new Map<string, CachedChannel>();

  constructor(private readonly db: Db) {}

  get(id: Uint8Array): CachedChannel | null {
    const key = toHex(id);
    const hit = this.entries.get(key);
    if (hit !== undefined) return hit;
    const row = getChannel(this.db, id);
    if (row === null) return null;
    const payer = getDevice(this.db, row.payer);
    if (payer === null) return null;
    const entry: CachedChannel = {
      num: row.num, id: row.id, payer: row.payer, payee: row.payee, payerKey: payer.publicKey, deposit: row.deposit,
      expiresAtSeconds: row.expiresAtSeconds, state: row.state, latestSeq: row.latestSeq, latestTotal: row.latestTotal,
      latestSignature: row.latestSignature, latestVoucher: null, pendingCommit: null, settledTotal: row.settledTotal,
    };
    if (this.entries.size >= CHANNEL_CACHE_ENTRIES_MAX) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, entry);
    return entry;
  }

  /** Forgets a channel so the next read comes from SQLite (after a failed commit). */
  forget(id: Uint8Array): void {
    this.entries.delete(toHex(id));
  }

  /**
   * After an epoch over every changed channel: each cached channel is settled up to its latest
   * total (vouchers were flushed before the epoch, so cached latest totals were all committed).
   */
  markAllSettled(): void {
    for (const entry of this.entries.values()) entry.settledTotal = entry.latestTotal;
  }

  /** Applies a change committed by someone else in this process, if the channel is cached. */
  update(id: Uint8Array, change: Partial<Pick<CachedChannel, 'deposit' | 'state' | 'settledTotal'>>): void {
    const entry = this.entries.get(toHex(id));
    if (entry !== undefined) Object.assign(entry, change);
  }
}
