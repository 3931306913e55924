// The operator streams as the broker publishes them (mqpay/v1/ops/settlements and .../events),
// taken from inside aedes: the SSE stream and the metrics see exactly what an MQTT operator
// client sees, from every source (epochs, closes by devices or operators, expiries, connects).
import { EventEmitter } from 'node:events';
import type { Aedes } from 'aedes';
import { opsMessageSchema } from '../../../shared/ops-events.js';
import { TOPIC_ROOT, parseTopic, type OpsStream } from '../../../shared/topics.js';

export interface OpsMessage {
  readonly stream: OpsStream;
  /** The message as published (JSON object with at least `type`). */
  readonly body: Record<string, unknown> & { readonly type: string };
}

/** Emits 'message' (OpsMessage) for each message on mqpay/v1/ops/#. */
export class OpsFeed extends EventEmitter {
  private readonly deliver = (packet: { topic: string; payload: Buffer | string }, done: () => void): void => {
    done();
    const topic = parseTopic(packet.topic);
    if (topic?.kind !== 'ops') return;
    let body: unknown;
    try {
      body = JSON.parse(packet.payload.toString());
    } catch {
      return;
    }
    if (!opsMessageSchema.safeParse(body).success) return; // only the protocol's operator messages are relayed
    this.emit('message', { stream: topic.stream, body } as OpsMessage);
  };

  constructor(private readonly aedes: Aedes) {
    super();
    this.setMaxListeners(0);
  }

  start(): void {
    this.aedes.subscribe(`${TOPIC_ROOT}/ops/#`, this.deliver, () => undefined);
  }

  stop(): void {
    if (!this.aedes.closed) this.aedes.unsubscribe(`${TOPIC_ROOT}/ops/#`, this.deliver, () => undefined);
  }
}
