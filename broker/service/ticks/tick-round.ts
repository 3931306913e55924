// One round of a channel's `out/tick` frames (see tick-ingest.ts): the frames judged together, and
// the promise each of them returned to the MQTT host, settled once every one is answered. A
// refusal is answered at once; an accepted frame once its write is durable [docs/DESIGN.md rule
// 5], and only if it is still the highest of that write: its verdict (and the payee's copy)
// answers every lower tick the same commit made durable.
import { MqpayError } from '../../../shared/errors.js';
import type { SignedCheckpoint } from '../../../shared/tick-frames.js';
import type { Tick } from '../../../shared/tick.js';
import type { TickAnswers, TickOutcome } from './tick-answers.js';
import type { QueuedTick } from './tick-writes.js';

/** A decoded frame waiting for its round: a tick or a signed checkpoint. */
export interface Frame {
  readonly device: string;
  readonly channelId: Uint8Array;
  readonly tick: Tick | null;
  readonly signed: SignedCheckpoint | null;
}

/** A frame's judgement: the outcome, the write it waits on (null: answer now) and the tick write that write is, if any. */
export interface Judged {
  readonly device: string;
  readonly outcome: TickOutcome;
  readonly commit: Promise<void> | null;
  readonly entry: QueuedTick | null;
}

export class TickRound {
  readonly frames: Frame[] = [];
  readonly settled: Promise<void>;
  private settle: () => void = () => undefined;

  constructor() {
    this.settled = new Promise<void>((resolve) => { this.settle = resolve; });
  }

  /** Answers every judged frame as its write lands; `settled` resolves once all are answered (never rejects). */
  answer(judged: readonly Judged[], answers: TickAnswers): void {
    const sent: Promise<unknown>[] = [];
    // One wait per write, not per tick: the ticks of a round mostly share one write.
    const byCommit = new Map<Promise<void>, Judged[]>();
    for (const item of judged) {
      if (item.commit === null) sent.push(answers.answer(item.device, item.outcome));
      else {
        const waiting = byCommit.get(item.commit);
        if (waiting === undefined) byCommit.set(item.commit, [item]);
        else waiting.push(item);
      }
    }
    for (const [commit, items] of byCommit) sent.push(commit.then(() => answerDurable(items, answers), (error: unknown) => answerFailed(items, answers, error)));
    void Promise.all(sent).then(this.settle);
  }
}

function answerDurable(items: readonly Judged[], answers: TickAnswers): Promise<unknown> {
  const highest = items.filter((item) => item.entry === null || item.entry.tick.index === item.outcome.index);
  return Promise.all(highest.map((item) => answers.answer(item.device, item.outcome)));
}

/** The write failed: each frame it covered is refused (it may be sent again). */
function answerFailed(items: readonly Judged[], answers: TickAnswers, error: unknown): Promise<unknown> {
  const code = error instanceof MqpayError ? error.code : 'SERVICE_UNAVAILABLE';
  return Promise.all(items.map(({ device, outcome }) => answers.answer(device, { accepted: false, code, channelId: outcome.channelId, checkpointSeq: outcome.checkpointSeq, index: outcome.index })));
}
