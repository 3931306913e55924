// One server-sent-events response: named events with JSON data, a heartbeat comment, and a cap
// on unsent bytes so one stalled browser cannot make the broker buffer without end.
import type { ServerResponse } from 'node:http';
import { SSE_BUFFER_BYTES_MAX, SSE_HEARTBEAT_MS, SSE_RETRY_MS } from '../../limits.js';

export class SseStream {
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly response: ServerResponse, onClose: () => void) {
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'keep-alive' });
    response.write(`retry: ${SSE_RETRY_MS}\n\n`);
    this.heartbeat = setInterval(() => this.write(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
    this.heartbeat.unref();
    response.once('close', () => {
      this.closed = true;
      clearInterval(this.heartbeat);
      onClose();
    });
  }

  /** Sends one event; `data` is serialized once by the caller for all streams. */
  send(event: string, data: string): void {
    this.write(`event: ${event}\ndata: ${data}\n\n`);
  }

  close(): void {
    if (!this.closed) this.response.end();
  }

  private write(text: string): void {
    if (this.closed) return;
    if (this.response.writableLength > SSE_BUFFER_BYTES_MAX) {
      this.response.destroy();
      return;
    }
    this.response.write(text);
  }
}
