// The voucher hot path's view of channels: loaded from the store once, then kept current in
// memory by every writer in this process (vouchers, settlements, top-ups, closes). Only the
// service writes channels, so the cache cannot go stale behind its back.
//
// Bounded, least recently used first out. A channel whose latest voucher is still in a group
// commit is pinned: evicting it would make a re-send of that voucher be judged against the
// store, which does not have it yet, and written twice. Eviction runs once per event-loop turn,
// not at each load: a load's caller judges and pins its entry in the microtasks right after
// the load, and evicting in between (another load's turn) would leave it pinning an entry the
// map no longer holds. Within a turn the cache may run over its bound by the loads of that turn.
import type { Amount } from '../../shared/amount.js';
import { toHex } from '../../shared/hex.js';
import type { ChainState } from '../../shared/tick-rules.js';
import type { VoucherChannelState } from '../../shared/voucher-rules.js';
import type { StoreReads } from '../store/port.js';

export interface CachedChannel extends VoucherChannelState {
  readonly num: bigint;
  readonly id: Uint8Array;
  readonly payee: string;
  /** The payer's current key; a rotation replaces it once committed [docs/DESIGN.md rule 12]. */
  payerKey: Uint8Array;
  latestSignature: Uint8Array | null;
  /** The latest voucher's bytes, when this process accepted it (null after a load from the store). */
  latestVoucher: Uint8Array | null;
  /** The commit of the latest accepted voucher while it is still in a batch (pins the entry). */
  pendingCommit: Promise<void> | null;
  settledTotal: Amount;
  // Mutable copies of the judged fields, updated as this process commits changes.
  deposit: Amount;
  state: 'open' | 'closing' | 'closed';
  latestSeq: bigint;
  latestTotal: Amount;
  /** The current hash chain (v3) with its signed checkpoint; undefined until read from the store, null for none. */
  chain?: CachedChain | null;
}

/** A chain as the tick path keeps it: its state and the checkpoint's signed bytes (to tell a re-send). */
export interface CachedChain extends ChainState {
  readonly bytes: Uint8Array;
  readonly signature: Uint8Array;
  /**
   * The payer key the checkpoint was verified with: once the payer rotates away from it, the
   * chain pays nothing more (KEY_ROTATED) [docs/DESIGN.md rule 12].
   */
  readonly signerKey: Uint8Array;
}

export class ChannelCache {
  /** Map order is recency order: a hit moves its entry to the end. */
  private readonly entries = new Map<string, CachedChannel>();
  /** Loads in progress, so concurrent misses on one channel share one entry. */
  private readonly loading = new Map<string, Promise<CachedChannel | null>>();
  private trimScheduled = false;
  evictions = 0;

  constructor(private readonly reads: StoreReads, private readonly entriesMax: number) {
    if (!Number.isInteger(entriesMax) || entriesMax < 1) throw new RangeError('channel cache needs room for at least one entry');
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached channel, if it is in memory now (no load). */
  peek(id: Uint8Array): CachedChannel | null {
    return this.entries.get(toHex(id)) ?? null;
  }

  /**
   * The cached channel under `key` (its id in hex), made the most recently used; null when it is
   * not in memory. Synchronous, so the voucher path spends no promise on a hit.
   */
  hit(key: string): CachedChannel | null {
    const hit = this.entries.get(key);
    if (hit === undefined) return null;
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit;
  }

  /** `key`: the id in hex, when the caller has it already. */
  async get(id: Uint8Array, key: string = toHex(id)): Promise<CachedChannel | null> {
    const hit = this.hit(key);
    if (hit !== null) return hit;
    let load = this.loading.get(key);
    if (load === undefined) {
      load = this.load(key, id).finally(() => this.loading.delete(key));
      this.loading.set(key, load);
    }
    return load;
  }

  private async load(key: string, id: Uint8Array): Promise<CachedChannel | null> {
    const row = await this.reads.channel(id);
    if (row === null) return null;
    const payer = await this.reads.device(row.payer);
    if (payer === null) return null;
    // Another load or a writer may have cached it while this one awaited the store.
    const present = this.entries.get(key);
    if (present !== undefined) return present;
    const entry: CachedChannel = {
      num: row.num, id: row.id, payer: row.payer, payee: row.payee, payerKey: payer.publicKey, deposit: row.deposit,
      expiresAtSeconds: row.expiresAtSeconds, state: row.state, latestSeq: row.latestSeq, latestTotal: row.latestTotal,
      latestSignature: row.latestSignature, latestVoucher: null, pendingCommit: null, settledTotal: row.settledTotal,
    };
    this.entries.set(key, entry);
    if (this.entries.size > this.entriesMax && !this.trimScheduled) {
      this.trimScheduled = true;
      setImmediate(() => this.trim());
    }
    return entry;
  }

  /**
   * Evicts least recently used entries that are not pinned by a pending commit, down to the
   * bound. With every entry pinned the cache stays over its bound until those commits land
   * (they are bounded by the per-device in-flight limit); the next load trims again.
   */
  trim(): void {
    this.trimScheduled = false;
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.entriesMax) return;
      if (entry.pendingCommit !== null) continue;
      this.entries.delete(key);
      this.evictions += 1;
    }
  }

  /** Forgets a channel so the next read comes from the store (after a failed commit). */
  forget(id: Uint8Array): void {
    this.entries.delete(toHex(id));
  }

  /**
   * After an epoch over every changed channel: each cached channel is settled up to its latest
   * total. A pinned channel's latest may be a voucher queued after the epoch's flush, not yet
   * settled: it keeps its settled total (only the early-settlement threshold reads it).
   */
  markAllSettled(): void {
    for (const entry of this.entries.values()) if (entry.pendingCommit === null) entry.settledTotal = entry.latestTotal;
  }

  /** Applies a change committed by someone else in this process, if the channel is cached. */
  update(id: Uint8Array, change: Partial<Pick<CachedChannel, 'payerKey' | 'deposit' | 'state' | 'settledTotal' | 'latestSeq' | 'latestTotal' | 'latestSignature' | 'latestVoucher'>>): void {
    const entry = this.entries.get(toHex(id));
    if (entry !== undefined) Object.assign(entry, change);
  }
}
