// The operator streams for the SSE feed, from the telemetry port: the same messages the ops
// topics carry (broker/operator/ops-topics.ts), from every source (epochs, closes by devices or
// operators, expiries, connects, operator actions), without a round trip through aedes.
import { EventEmitter } from 'node:events';
import type { Telemetry } from '../../service/telemetry.js';
import { opsMessageOf, type OpsMessage } from '../ops-topics.js';

export type { OpsMessage } from '../ops-topics.js';

/** Emits 'message' (OpsMessage) for each operator message. */
export class OpsFeed extends EventEmitter {
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly telemetry: Telemetry) {
    super();
    this.setMaxListeners(0);
  }

  start(): void {
    if (this.unsubscribe !== null) return;
    this.unsubscribe = this.telemetry.on((event) => {
      const message = opsMessageOf(event);
      if (message !== null) this.emit('message', message);
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }
}
