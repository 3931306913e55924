// What the broker says about itself, read from its log (pino JSON lines on stderr): the
// simulator confirms an attack was refused on the broker's own word, not only by what the
// attacker saw. Events are kept in a bounded list with sequence numbers, so a caller can wait
// for "an ACL violation by rogue-sensor-01 after this point".

/** Most broker log events kept; older ones are dropped (counters keep counting). */
export const BROKER_LOG_EVENTS_MAX = 10_000;

export interface BrokerLogEvent {
  readonly seq: number;
  readonly level: number;
  readonly msg: string;
  readonly client: string | null;
  readonly code: string | null;
}

type Waiter = { readonly from: number; readonly match: (event: BrokerLogEvent) => boolean; readonly resolve: (event: BrokerLogEvent | null) => void };

const PINO_ERROR_LEVEL = 50;

export class BrokerLog {
  private events: BrokerLogEvent[] = [];
  private nextSeq = 1;
  private readonly waiters = new Set<Waiter>();
  aclViolations = 0;
  connectionRefusals = 0;
  errors = 0;
  readonly lastErrors: string[] = [];

  /** Feeds one line of broker output; lines that are not pino JSON are ignored. */
  line(text: string): void {
    if (!text.startsWith('{')) return;
    let json: { level?: unknown; msg?: unknown; client?: unknown; code?: unknown };
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      return;
    }
    const event: BrokerLogEvent = {
      seq: this.nextSeq++, level: typeof json.level === 'number' ? json.level : 0, msg: typeof json.msg === 'string' ? json.msg : '',
      client: typeof json.client === 'string' ? json.client : null, code: typeof json.code === 'string' ? json.code : null,
    };
    this.count(event, text);
    this.events.push(event);
    if (this.events.length > BROKER_LOG_EVENTS_MAX) this.events = this.events.slice(-BROKER_LOG_EVENTS_MAX / 2);
    for (const waiter of this.waiters) {
      if (event.seq > waiter.from && waiter.match(event)) {
        this.waiters.delete(waiter);
        waiter.resolve(event);
      }
    }
  }

  private count(event: BrokerLogEvent, text: string): void {
    if (event.msg === 'ACL violation') this.aclViolations += 1;
    if (event.msg === 'connection refused') this.connectionRefusals += 1;
    if (event.level >= PINO_ERROR_LEVEL) {
      this.errors += 1;
      if (this.lastErrors.length < 20) this.lastErrors.push(text.slice(0, 500));
    }
  }

  /** The sequence number of the latest event: wait for events after it. */
  mark(): number {
    return this.nextSeq - 1;
  }

  /** The first event after `from` that matches, or null after the timeout. */
  waitFor(from: number, match: (event: BrokerLogEvent) => boolean, timeoutMs: number): Promise<BrokerLogEvent | null> {
    const seen = this.events.find((event) => event.seq > from && match(event));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        from, match,
        resolve: (event) => {
          clearTimeout(timer);
          resolve(event);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(null);
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}
