// Reads the broker's live-event stream (/api/events) in tests: collects (event, data) pairs and
// waits for one that matches.
import { readSse, type SseEvent } from '../../broker/operator/commands/sse-reader.js';

export interface LiveEventReader {
  readonly events: SseEvent[];
  next(event: string, match?: (data: any) => boolean, timeoutMs?: number): Promise<any>;
  close(): void;
}

export async function openLiveEvents(base: string, token: string): Promise<LiveEventReader> {
  const controller = new AbortController();
  const response = await fetch(`${base}/api/events`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
  if (response.status !== 200 || response.body === null) throw new Error(`live events answered ${response.status}`);
  const events: SseEvent[] = [];
  const waiters = new Set<() => void>();
  void (async () => {
    try {
      for await (const event of readSse(response.body as unknown as AsyncIterable<Uint8Array>)) {
        events.push(event);
        for (const wake of waiters) wake();
      }
    } catch {
      // aborted by close()
    }
  })();
  return {
    events,
    next(event, match = () => true, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        let index = 0;
        const check = () => {
          for (; index < events.length; index++) {
            const candidate = events[index];
            if (candidate?.event !== event) continue;
            const data = JSON.parse(candidate.data);
            if (!match(data)) continue;
            waiters.delete(check);
            clearTimeout(timer);
            return resolve(data);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no live event ${event} within ${timeoutMs} ms (saw ${events.map((e) => e.event).join(', ')})`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => controller.abort(),
  };
}
