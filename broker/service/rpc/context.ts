// What every RPC method gets: the store, the service key, the clock, and a way to queue effects
// (messages to publish, cache updates) that happen only after the transaction commits.
import type { SettlementResult } from '../../store/settle.js';
import type { ChannelCache } from '../channel-cache.js';
import type { ServiceDeps } from '../ports.js';

export interface Effect {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly retain?: boolean;
}

export interface RpcContext {
  readonly deps: ServiceDeps;
  readonly cache: ChannelCache;
  /** Messages to publish after commit. */
  readonly effects: Effect[];
  /** In-memory updates to apply after commit. */
  readonly afterCommit: (() => void)[];
  /** Reports a committed settlement (stats, operator events); called after commit. */
  readonly onSettled: (result: SettlementResult, durationMs: number) => void;
}

/** What it takes to build a fresh context for one transaction. */
export interface ContextSource extends Pick<RpcContext, 'deps' | 'cache' | 'onSettled'> {
  /**
   * Commits pending vouchers. Called BEFORE a request's transaction begins, never inside it:
   * inside, the vouchers would be acknowledged yet roll back if that transaction failed.
   */
  readonly flushVouchers: () => void;
}

export function newContext(source: ContextSource): RpcContext {
  return { deps: source.deps, cache: source.cache, onSettled: source.onSettled, effects: [], afterCommit: [] };
}

