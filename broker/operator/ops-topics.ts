// The operator topics, written from the telemetry port: mqpay/v1/ops/settlements gets one
// summary per committed settlement, mqpay/v1/ops/events gets connects, disconnects and operator
// actions. Operators read them with any MQTT client (read-only); the SSE feed reads the same
// telemetry events, so both see the same messages.
import type { Logger } from 'pino';
import type { OpsEvent, OpsSettlement } from '../../shared/ops-events.js';
import { opsTopic, type OpsStream } from '../../shared/topics.js';
import type { TransportPort } from '../service/ports.js';
import { settlementSummary } from '../service/settlement/notices.js';
import type { Telemetry, TelemetryEvent } from '../service/telemetry.js';

export interface OpsMessage {
  readonly stream: OpsStream;
  readonly body: OpsEvent | OpsSettlement;
}

/** The operator message a telemetry event stands for, or null when it has none. */
export function opsMessageOf(event: TelemetryEvent): OpsMessage | null {
  if (event.kind === 'settlement') return { stream: 'settlements', body: settlementSummary(event.result) };
  if (event.kind === 'ops.event') return { stream: 'events', body: event.event };
  return null;
}

/** Publishes each operator message on its topic; returns the unsubscribe. */
export function publishOpsTopics(telemetry: Telemetry, transport: TransportPort, logger: Logger): () => void {
  return telemetry.on((event) => {
    const message = opsMessageOf(event);
    if (message === null) return;
    const payload = new TextEncoder().encode(JSON.stringify(message.body));
    transport.publish(opsTopic(message.stream), payload).catch((error: unknown) => logger.warn({ err: error, stream: message.stream }, 'ops message not published'));
  });
}
