// What the settlement service needs from the outside world, injected so tests and the simulator
// can drive it deterministically and so the transport can be aedes in-process today and an
// external MQTT cluster tomorrow [docs/DESIGN.md "Growing past one machine"].
import type { Logger } from 'pino';
import type { RandomBytes } from '../../shared/ids.js';
import type { KeyPair } from '../../shared/keys.js';
import type { Store } from '../store/port.js';
import type { LimitDefaults } from './spending/spending-guard.js';
import type { Telemetry } from './telemetry.js';
import type { SignatureVerifier } from './vouchers/verify-pool.js';

export interface Clock {
  nowMs(): number;
}

export interface TransportPort {
  /** Publishes a service message (QoS 1 unless told). Resolves once the transport has taken it. */
  publish(topic: string, payload: Uint8Array, options?: { retain?: boolean; qos?: 0 | 1 }): Promise<void>;
}

/** A message the service publishes once the change behind it has committed. */
export interface Effect {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly retain?: boolean;
  /** QoS 1 unless told (voucher verdicts and forwards may go at 0). */
  readonly qos?: 0 | 1;
}

export interface ServiceOptions {
  /** The ledger's currency (ISO 4217), written into every channel certificate [docs/DESIGN.md rule 13]. */
  readonly currency: string;
  readonly brokerId: string;
  readonly epochSeconds: number;
  /** A channel whose unsettled amount reaches this is settled early (micro-units; 0 = never). */
  readonly settleThresholdMicro: bigint;
  readonly feePpm: number;
  /** Dispute window of a payer's, operator's or expiry's close, in seconds; 0 settles at once [docs/DESIGN.md rule 11]. */
  readonly closeWindowSeconds: number;
  /** Most vouchers committed in one SQLite transaction (group commit). */
  readonly voucherBatchMax: number;
  /**
   * QoS of voucher verdicts and forwards. 0 by default: a lost "accepted" makes the agent re-send
   * its latest voucher (idempotent), and a lost forward is superseded by the next cumulative
   * voucher, so QoS 1's extra round trip buys nothing here. Certificates, RPC replies and
   * settlement notices always go at QoS 1.
   */
  readonly voucherReplyQos: 0 | 1;
  /** Channels kept in memory for the voucher hot path (LRU; channels awaiting a commit stay). */
  readonly channelCacheEntriesMax: number;
  /** Server-side spending limits of a device that has none of its own [docs/DESIGN.md rule 12]. */
  readonly deviceLimitDefaults: LimitDefaults;
  /**
   * Other processes write the same store (cluster workers): the channel cache may be stale, so
   * every voucher write re-checks the payer's key in its savepoint and a refused voucher is
   * judged once more from the store [docs/DESIGN.md rule 16]. Absent: this process is the only writer.
   */
  readonly storeShared?: boolean;
}

export interface ServiceDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly serviceKey: KeyPair;
  readonly transport: TransportPort;
  readonly logger: Logger;
  readonly options: ServiceOptions;
  /** Verifies voucher signatures (a worker thread, or inline). */
  readonly verifier: SignatureVerifier;
  /** Where what happens is reported (metrics, the SSE feed, the ops topics read it). */
  readonly telemetry: Telemetry;
}
