// Everything the agent's parts share: identity, configuration, store, link and the injected
// clock, randomness and logger. Built once by createAgent.
import type { RandomBytes } from '../shared/ids.js';
import type { DeviceKeys } from './home/device-keys.js';
import type { AgentConfig } from './home/config.js';
import type { DeviceLink } from './link/link.js';
import type { AgentLogger, Clock } from './ports.js';
import type { ServiceKeyTrust } from './home/service-key-trust.js';
import type { StateDb } from './store/open-state.js';
import type { GroupCommit } from '../sqlite/group-commit.js';

export interface AgentTiming {
  /** Longest wait for an RPC answer (channel.open, top-up, balance...). */
  readonly requestTimeoutMs: number;
  /** Default longest wait of `pay` for "accepted" (and the receipt when asked). */
  readonly paymentTimeoutMs: number;
  /** A pending voucher unanswered this long is published again. */
  readonly resendIntervalMs: number;
}

/** Fault injection for crash tests and the simulator; all optional, all no-ops by default. */
export interface AgentFaults {
  /** Called after a voucher's row is committed and before it is published. */
  readonly afterVoucherStored?: (voucher: { channel: string; seq: bigint; total: bigint }) => void;
  /** Called once the service answered a key rotation and before the agent switches to the new key. */
  readonly afterRotationAnswered?: () => void;
  /**
   * Called right after each durable commit of the agent's group commit (its fsync), before any
   * other write: what a power cut may leave is the state as of the last call (power-cut tests).
   */
  readonly afterDurableCommit?: () => void;
}

export interface AgentContext {
  readonly device: string;
  /** The agent's home directory (its key files live there). */
  readonly home: string;
  /** The current key pair (replaced in place by a key rotation) and a pending new one. */
  readonly keys: DeviceKeys;
  readonly config: AgentConfig;
  readonly db: StateDb;
  /** The agent's group commit: every durable write goes through it (a savepoint each). */
  readonly batch: GroupCommit<StateDb>;
  readonly link: DeviceLink;
  readonly trust: ServiceKeyTrust;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly logger: AgentLogger;
  readonly timing: AgentTiming;
  readonly faults: AgentFaults;
}
