// The live-event hub behind GET /api/events: every message of the operator MQTT streams
// (settlements, device connects and admin actions) plus a `rate` sample each second, fanned out
// to at most SSE_CLIENTS_MAX server-sent-event streams. A new stream first gets `hello` with the
// recent rate history and who is online.
import type { ServerResponse } from 'node:http';
import type { OperatorHost } from './operator-context.js';
import { SSE_CLIENTS_MAX } from '../../limits.js';
import type { OpsFeed, OpsMessage } from './ops-feed.js';
import { RateSampler } from './rate-sampler.js';
import { SseStream } from './sse-stream.js';

export class LiveEvents {
  private readonly streams = new Set<SseStream>();
  private readonly sampler: RateSampler;
  private readonly onOps = (message: OpsMessage): void => this.publish(message.body.type, message.body);

  constructor(private readonly app: OperatorHost, private readonly feed: OpsFeed) {
    this.sampler = new RateSampler(app.service.telemetry, () => app.mqtt.online.size, app.clock);
  }

  start(): void {
    this.feed.on('message', this.onOps);
    this.sampler.start((sample) => this.publish('rate', sample));
  }

  stop(): void {
    this.feed.off('message', this.onOps);
    this.sampler.stop();
    for (const stream of this.streams) stream.close();
    this.streams.clear();
  }

  get clientCount(): number {
    return this.streams.size;
  }

  /** Opens a stream on the response; false when the hub is full (the caller answers 503). */
  open(response: ServerResponse): boolean {
    if (this.streams.size >= SSE_CLIENTS_MAX) return false;
    const stream: SseStream = new SseStream(response, () => this.streams.delete(stream));
    this.streams.add(stream);
    const hello = { serverTimeMs: this.app.clock.nowMs(), online: [...this.app.mqtt.online].sort(), rates: this.sampler.history() };
    stream.send('hello', JSON.stringify(hello));
    return true;
  }

  /** Sends one named event to every open stream (serialized once). */
  publish(event: string, body: unknown): void {
    if (this.streams.size === 0) return;
    const data = JSON.stringify(body);
    for (const stream of this.streams) stream.send(event, data);
  }
}
