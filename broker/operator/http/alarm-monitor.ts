// The alarms panel's source: attacks and faults the telemetry port reports (refused logins, ACL
// violations, rejected vouchers by code, double-signs, dropped or oversized clients, storage
// faults). Counters are the telemetry's own [docs/DESIGN.md "Telemetry"]; this keeps the recent
// incidents (bounded) and pushes them at most once per ALARMS_PUSH_MS, so an attack at any rate
// costs the live streams one event a second.
import type { Clock } from '../../service/ports.js';
import type { Telemetry, TelemetryEvent } from '../../service/telemetry.js';
import { ALARMS_PER_PUSH_MAX, ALARMS_PUSH_MS, ALARMS_RECENT_MAX } from '../../limits.js';
import { PROTOCOL_VERSION } from '../../../shared/schemas.js';
import type { AlarmCounts, OpsAlarm, OpsAlarms } from '../../../shared/ops-events.js';

type Incident = Omit<OpsAlarm, 'atMs'>;

const text = (value: string, max: number): string => value.slice(0, max);

/** The incident a telemetry event stands for, or null when it is no alarm. */
export function incidentOf(event: TelemetryEvent): Incident | null {
  switch (event.kind) {
    case 'auth.failure': return { kind: 'auth.failure', client: event.client === undefined ? null : text(event.client, 64), code: event.code, detail: null };
    case 'acl.violation': return { kind: 'acl.violation', client: event.device === '' ? null : text(event.device, 64), code: null, detail: null };
    case 'voucher.rejected': return { kind: 'voucher.rejected', client: event.device ?? null, code: event.code, detail: null };
    case 'double-sign': return { kind: 'double-sign', client: event.device, code: null, detail: null };
    case 'client.dropped': return { kind: 'client.dropped', client: null, code: null, detail: `${event.bufferedBytes} bytes unsent` };
    case 'packet.oversized': return { kind: 'packet.oversized', client: null, code: null, detail: `packet of ${event.sizeBytes} bytes announced` };
    case 'storage.fault': return { kind: 'storage.fault', client: null, code: 'SERVICE_UNAVAILABLE', detail: event.reason };
    case 'storage.lock-wait': return event.acquired ? null : { kind: 'storage.locked', client: null, code: 'SERVICE_UNAVAILABLE', detail: `locked by another process for ${event.waitedMs} ms` };
    default: return null;
  }
}

export function alarmCounts(telemetry: Telemetry): AlarmCounts {
  return {
    authFailures: telemetry.authFailures,
    aclViolations: telemetry.aclViolations,
    vouchersRejected: Object.fromEntries(telemetry.vouchersRejected),
    doubleSigns: telemetry.doubleSigns,
    clientsDropped: telemetry.slowClientsDropped,
    packetsOversized: telemetry.oversizedPackets,
    storageFaults: telemetry.storageFaults,
    storageLocked: telemetry.storageLockWaits.refused,
  };
}

export class AlarmMonitor {
  private readonly recentAlarms: OpsAlarm[] = [];
  private unpushed: OpsAlarm[] = [];
  private unpushedDropped = 0;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly telemetry: Telemetry, private readonly clock: Clock) {}

  /** Starts listening; `push` gets one `alarms` message per period in which something happened. */
  start(push: (message: OpsAlarms) => void): void {
    if (this.unsubscribe !== null) return;
    this.unsubscribe = this.telemetry.on((event) => this.record(event));
    this.timer = setInterval(() => this.flush(push), ALARMS_PUSH_MS);
    this.timer.unref();
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** The counters and the recent incidents, newest first. */
  snapshot(): { counts: AlarmCounts; recent: readonly OpsAlarm[] } {
    return { counts: alarmCounts(this.telemetry), recent: [...this.recentAlarms].reverse() };
  }

  private record(event: TelemetryEvent): void {
    const incident = incidentOf(event);
    if (incident === null) return;
    const alarm: OpsAlarm = { ...incident, atMs: this.clock.nowMs() };
    this.recentAlarms.push(alarm);
    if (this.recentAlarms.length > ALARMS_RECENT_MAX) this.recentAlarms.shift();
    if (this.unpushed.length < ALARMS_PER_PUSH_MAX) this.unpushed.push(alarm);
    else this.unpushedDropped += 1;
  }

  private flush(push: (message: OpsAlarms) => void): void {
    if (this.unpushed.length === 0) return;
    const message: OpsAlarms = { v: PROTOCOL_VERSION, type: 'alarms', counts: alarmCounts(this.telemetry), recent: this.unpushed, dropped: this.unpushedDropped, atMs: this.clock.nowMs() };
    this.unpushed = [];
    this.unpushedDropped = 0;
    push(message);
  }
}
