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
  /** Commits pending vouchers so the method sees every accepted one. */
  readonly flushVouchers: () => void;
  /** Messages to publish after commit. */
  readonly effects: Effect[];
  /** In-memory updates to apply after commit. */
  readonly afterCommit: (() => void)[];
  /** Reports a committed settlement (stats, operator events); called after commit. */
  readonly onSettled: (result: SettlementResult, durationMs: number) => void;
}

/** What it takes to build a fresh context for one transaction. */
export type ContextSource = Pick<RpcContext, 'deps' | 'cache' | 'flushVouchers' | 'onSettled'>;

export function newContext(source: ContextSource): RpcContext {
  return { ...source, effects: [], afterCommit: [] };
}

export const nowSecondsOf = (nowMs: number): bigint => BigInt(Math.floor(nowMs / 1000));
