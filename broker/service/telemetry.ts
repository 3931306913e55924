// The telemetry port: one place where things that happen are reported, injected where they
// happen (voucher verdicts, settlements, refused connections, ACL violations, connects and
// operator actions). Everything that shows them reads it: Prometheus metrics read its counters
// when scraped; the ops topics (broker/operator/ops-topics.ts) and the SSE feed subscribe to its
// events. Nothing else counts on the side [docs/DESIGN.md "Telemetry"].
import type { ErrorCode } from '../../shared/errors.js';
import type { OpsEvent } from '../../shared/ops-events.js';
import type { SettlementResult } from '../store/port.js';
import { TELEMETRY_LISTENERS_MAX } from '../limits.js';

export type TelemetryEvent =
  /** `latencyMs`: from the voucher's arrival to its verdict being handed to the transport. */
  | { readonly kind: 'voucher.accepted'; readonly latencyMs: number }
  /** `device`: the sender, when known (the operator's alarms name it). */
  | { readonly kind: 'voucher.rejected'; readonly code: ErrorCode; readonly latencyMs: number; readonly device?: string }
  /** One signature verification (a worker thread's or inline), its time including the queue. */
  | { readonly kind: 'verify'; readonly durationMs: number }
  /** One commit: a group commit of `writes` vouchers and receipts, or one unit of work. */
  | { readonly kind: 'commit'; readonly what: 'batch' | 'unit'; readonly writes: number; readonly durationMs: number }
  | { readonly kind: 'acl.violation'; readonly device: string }
  /** `client`: the MQTT client id the refused CONNECT gave (untrusted text, bounded by aedes). */
  | { readonly kind: 'auth.failure'; readonly code: ErrorCode; readonly client?: string }
  | { readonly kind: 'settlement'; readonly result: SettlementResult; readonly durationMs: number }
  /** A write waited for a lock held by another process; `acquired` false: it was refused. */
  | { readonly kind: 'storage.lock-wait'; readonly waitedMs: number; readonly acquired: boolean }
  /** A commit waited for the disk (its WAL fsync) past the bound (`stalled`), or that wait ended (`recovered`). */
  | { readonly kind: 'storage.sync-stall'; readonly state: 'stalled' | 'recovered'; readonly waitedMs: number }
  /** A client that stopped reading was dropped: it held `bufferedBytes` unsent. */
  | { readonly kind: 'client.dropped'; readonly bufferedBytes: number }
  /** A connection announced a packet above the size limit and was closed before it was read. */
  | { readonly kind: 'packet.oversized'; readonly sizeBytes: number }
  /** The store refused a write because the disk is full, failing, or too slow to make a commit durable within the bound (SERVICE_UNAVAILABLE). */
  | { readonly kind: 'storage.fault'; readonly reason: 'disk-full' | 'disk-io' | 'disk-slow' }
  /** What goes on mqpay/v1/ops/events: connects, disconnects, operator actions. */
  | { readonly kind: 'ops.event'; readonly event: OpsEvent }
  /** Double-sign evidence recorded (bounded per channel) [docs/DESIGN.md rule 11]. */
  | { readonly kind: 'double-sign'; readonly device: string }
  /** A voucher or receipt in the deprecated JSON form (protocol v3 keeps it, v4 refuses it). */
  | { readonly kind: 'wire.json-deprecated'; readonly box: 'voucher' | 'receipt' };

export type TelemetryListener = (event: TelemetryEvent) => void;

export class Telemetry {
  private acceptedCount = 0;
  private readonly rejectedByCode = new Map<ErrorCode, number>();
  private aclViolationCount = 0;
  private authFailureCount = 0;
  private settlementCount = 0;
  private lockWaitsAcquired = 0;
  private droppedCount = 0;
  private lockWaitsRefused = 0;
  private doubleSignCount = 0;
  private syncStallCount = 0;
  private syncStalledNow = false;
  private oversizedCount = 0;
  private storageFaultCount = 0;
  private readonly jsonDeprecatedByBox = new Map<'voucher' | 'receipt', number>();
  private readonly listeners = new Set<TelemetryListener>();

  emit(event: TelemetryEvent): void {
    switch (event.kind) {
      case 'voucher.accepted': this.acceptedCount += 1; break;
      case 'voucher.rejected': this.rejectedByCode.set(event.code, (this.rejectedByCode.get(event.code) ?? 0) + 1); break;
      case 'acl.violation': this.aclViolationCount += 1; break;
      case 'auth.failure': this.authFailureCount += 1; break;
      case 'settlement': this.settlementCount += 1; break;
      case 'ops.event': case 'verify': case 'commit': break;
      case 'client.dropped': this.droppedCount += 1; break;
      case 'storage.lock-wait': if (event.acquired) this.lockWaitsAcquired += 1; else this.lockWaitsRefused += 1; break;
      case 'double-sign': this.doubleSignCount += 1; break;
      case 'storage.sync-stall':
        if (event.state === 'stalled') this.syncStallCount += 1;
        this.syncStalledNow = event.state === 'stalled';
        break;
      case 'packet.oversized': this.oversizedCount += 1; break;
      case 'storage.fault': this.storageFaultCount += 1; break;
      case 'wire.json-deprecated': this.jsonDeprecatedByBox.set(event.box, (this.jsonDeprecatedByBox.get(event.box) ?? 0) + 1); break;
    }
    // A listener that throws must not undo what happened, nor starve the others.
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // Listeners are the operator surface's; their failures are theirs to log.
      }
    }
  }

  /** Subscribes; returns the unsubscribe. */
  on(listener: TelemetryListener): () => void {
    if (this.listeners.size >= TELEMETRY_LISTENERS_MAX) throw new Error(`more than ${TELEMETRY_LISTENERS_MAX} telemetry listeners`);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get vouchersAccepted(): number {
    return this.acceptedCount;
  }

  get vouchersRejected(): ReadonlyMap<ErrorCode, number> {
    return this.rejectedByCode;
  }

  /** Vouchers and receipts received in the deprecated JSON form, by outbox box. */
  get jsonDeprecated(): ReadonlyMap<'voucher' | 'receipt', number> {
    return this.jsonDeprecatedByBox;
  }

  get aclViolations(): number {
    return this.aclViolationCount;
  }

  get authFailures(): number {
    return this.authFailureCount;
  }

  get settlements(): number {
    return this.settlementCount;
  }

  /** Writes that waited for another process's lock: got it in time, or were refused. */
  get storageLockWaits(): { readonly acquired: number; readonly refused: number } {
    return { acquired: this.lockWaitsAcquired, refused: this.lockWaitsRefused };
  }

  /** Commits whose fsync took longer than the bound, and whether one is waiting like that now. */
  get storageSyncStalls(): { readonly count: number; readonly stalled: boolean } {
    return { count: this.syncStallCount, stalled: this.syncStalledNow };
  }

  /** Clients dropped because they stopped reading. */
  get slowClientsDropped(): number {
    return this.droppedCount;
  }

  /** Double-signed vouchers recorded as evidence. */
  get doubleSigns(): number {
    return this.doubleSignCount;
  }

  /** Connections closed for announcing a packet above the size limit. */
  get oversizedPackets(): number {
    return this.oversizedCount;
  }

  /** Writes the store refused for a full or failing disk. */
  get storageFaults(): number {
    return this.storageFaultCount;
  }

  rejectedTotal(): number {
    let total = 0;
    for (const count of this.rejectedByCode.values()) total += count;
    return total;
  }
}
