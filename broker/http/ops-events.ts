// Admin actions published on mqpay/v1/ops/events beside the broker's own device.connected and
// device.disconnected, so an operator watching with mosquitto_sub sees who was enrolled, disabled
// or funded, and which channel an operator closed.
import type { BrokerApp } from '../app.js';
import { opsTopic } from '../../shared/topics.js';

export type OpsEventInput =
  | { readonly type: 'device.enrolled' | 'device.disabled' | 'device.enabled'; readonly device: string }
  | { readonly type: 'wallet.funded'; readonly device: string; readonly amount: string }
  | { readonly type: 'channel.closed'; readonly channel: string; readonly settled: string; readonly refunded: string };

export function opsEventPublisher(app: BrokerApp): (event: OpsEventInput) => void {
  return (event) => {
    const payload = new TextEncoder().encode(JSON.stringify({ v: 2, ...event, by: 'operator', atMs: app.clock.nowMs() }));
    app.transport.publish(opsTopic('events'), payload).catch((error: unknown) => app.logger.warn({ err: error }, 'ops event not published'));
  };
}
