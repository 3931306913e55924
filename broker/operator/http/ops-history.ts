// The operator events of the recent past (connects, disconnects, admin actions, double-signs),
// kept in memory in a ring of OPS_HISTORY_EVENTS_MAX, for the device page's online history and
// events. Not persisted: the history starts when the broker did, and says so.
import { OPS_HISTORY_EVENTS_MAX } from '../../limits.js';
import type { OpsEvent } from '../../../shared/ops-events.js';
import type { OpsFeed, OpsMessage } from './ops-feed.js';

export class OpsHistory {
  private readonly ring: (OpsEvent | undefined)[] = new Array<OpsEvent | undefined>(OPS_HISTORY_EVENTS_MAX);
  private next = 0;
  private readonly onMessage = (message: OpsMessage): void => {
    if (message.body.type !== 'settlement') this.add(message.body);
  };

  constructor(private readonly feed: OpsFeed, readonly startedAtMs: number) {}

  start(): void {
    this.feed.on('message', this.onMessage);
  }

  stop(): void {
    this.feed.off('message', this.onMessage);
  }

  add(event: OpsEvent): void {
    this.ring[this.next % OPS_HISTORY_EVENTS_MAX] = event;
    this.next += 1;
  }

  /** The device's events that `match`, newest first, at most `limit`. */
  ofDevice(device: string, limit: number, match: (event: OpsEvent) => boolean): OpsEvent[] {
    const found: OpsEvent[] = [];
    const oldest = Math.max(0, this.next - OPS_HISTORY_EVENTS_MAX);
    for (let i = this.next - 1; i >= oldest && found.length < limit; i--) {
      const event = this.ring[i % OPS_HISTORY_EVENTS_MAX];
      if (event !== undefined && 'device' in event && event.device === device && match(event)) found.push(event);
    }
    return found;
  }
}
