// Admin actions reported to the telemetry port, which puts them on mqpay/v1/ops/events beside
// the broker's own device.connected and device.disconnected, so an operator watching with mosquitto_sub sees who was enrolled, disabled
// or funded, and which channel an operator closed.
import type { OperatorHost } from './operator-context.js';
import type { OpsEvent } from '../../../shared/ops-events.js';
import { PROTOCOL_VERSION } from '../../../shared/schemas.js';

/** An operator action as its caller states it; the publisher adds v, by and atMs. */
export type OpsEventInput = DistributiveOmit<Extract<OpsEvent, { by: 'operator' }>, 'v' | 'by' | 'atMs'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export function opsEventPublisher(app: Pick<OperatorHost, 'clock' | 'service'>): (event: OpsEventInput) => void {
  return (event) => {
    const message: OpsEvent = { v: PROTOCOL_VERSION, ...event, by: 'operator', atMs: app.clock.nowMs() };
    app.service.telemetry.emit({ kind: 'ops.event', event: message });
  };
}
