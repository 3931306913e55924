// Which devices are connected to the cluster, from the event exchange's connection events, for
// the operator's events stream (mqpay/v1/ops/events), as aedes' clientReady and clientDisconnect
// gave the embedded broker (broker/mqtt/presence.ts). A `connection.created` of the MQTT plugin
// names its user (the device); a `connection.closed` names only the connection's pid, so the pids
// of open connections are kept. A device is disconnected when its last connection closes (a
// reconnect that takes over an old session opens the new one before the old one closes).
// Every worker sees every connection event (a queue of its own) and keeps the map; only the
// settlement leader reports, so each change is reported once, and a worker that takes the lead
// over already knows the connections opened since it started.
import { isDeviceId } from '../../../shared/ids.js';
import type { OpsEvent } from '../../../shared/ops-events.js';
import { PROTOCOL_VERSION } from '../../../shared/schemas.js';
import type { Clock } from '../../service/ports.js';
import type { Telemetry } from '../../service/telemetry.js';

export class DevicePresence {
  private readonly deviceOf = new Map<string, string>();
  private readonly connections = new Map<string, number>();

  constructor(private readonly telemetry: Telemetry, private readonly clock: Clock, private readonly reporting: () => boolean) {}

  /** Devices connected now (as far as this worker has seen). */
  get online(): ReadonlySet<string> {
    return new Set(this.connections.keys());
  }

  /** A connection opened: only an MQTT one whose user is a device id counts (not operators, not workers). */
  opened(pid: string, user: string, protocol: string): void {
    if (!protocol.includes('MQTT') || !isDeviceId(user) || this.deviceOf.has(pid)) return;
    this.deviceOf.set(pid, user);
    const count = this.connections.get(user) ?? 0;
    this.connections.set(user, count + 1);
    if (count === 0) this.emit('device.connected', user);
  }

  closed(pid: string): void {
    const device = this.deviceOf.get(pid);
    if (device === undefined) return;
    this.deviceOf.delete(pid);
    const left = (this.connections.get(device) ?? 1) - 1;
    if (left > 0) return void this.connections.set(device, left);
    this.connections.delete(device);
    this.emit('device.disconnected', device);
  }

  private emit(type: OpsEvent['type'] & ('device.connected' | 'device.disconnected'), device: string): void {
    if (!this.reporting()) return;
    const event: OpsEvent = { v: PROTOCOL_VERSION, type, device, atMs: this.clock.nowMs() };
    this.telemetry.emit({ kind: 'ops.event', event });
  }
}
