// The answers to `out/tick` frames: a verdict to the payer on its `in/tick` and, for what was
// accepted, the frame itself to the payee on its `in/tick`, byte for byte (the payee checks the
// same hash). The payer's verdict never waits for the payee's socket [docs/DESIGN.md rule 15]; a
// lost copy to the payee is made good by the next tick, which the payee checks with as many
// hashes as it skipped.
import type { Amount } from '../../../shared/amount.js';
import { ZERO } from '../../../shared/amount.js';
import type { ErrorCode } from '../../../shared/errors.js';
import { decodeSignedCheckpoint, encodeSignedCheckpoint, tickFrameKindOf, type SignedCheckpoint } from '../../../shared/tick-frames.js';
import { CHANNEL_ID_BYTES } from '../../../shared/limits.js';
import { encodeTickVerdict } from '../../../shared/tick-verdict.js';
import { decodeTick, encodeTick, type Tick } from '../../../shared/tick.js';
import { inboxTopic } from '../../../shared/topics.js';
import type { CachedChannel } from '../channel-cache.js';
import type { ServiceDeps } from '../ports.js';

interface Named {
  readonly channelId: Uint8Array;
  readonly checkpointSeq: bigint;
  readonly index: number;
}

export type TickOutcome =
  | (Named & { readonly accepted: true; readonly channel: CachedChannel; readonly total: Amount; readonly forward: Tick | SignedCheckpoint })
  | (Named & { readonly accepted: false; readonly code: ErrorCode });

export class TickAnswers {
  constructor(private readonly deps: ServiceDeps) {}

  async send(device: string, outcome: TickOutcome): Promise<void> {
    const { transport, logger, options } = this.deps;
    const qos = options.voucherReplyQos;
    if (outcome.accepted) {
      const frame = 'preimage' in outcome.forward ? encodeTick(outcome.forward) : encodeSignedCheckpoint(outcome.forward.bytes, outcome.forward.signature);
      transport.publish(inboxTopic(outcome.channel.payee, 'tick'), frame, { qos: 0 }).catch((error: unknown) => logger.warn({ err: error }, 'tick forward not delivered'));
    }
    const verdict = encodeTickVerdict({
      channelId: outcome.channelId, checkpointSeq: outcome.checkpointSeq, index: outcome.index,
      total: outcome.accepted ? outcome.total : ZERO, code: outcome.accepted ? null : outcome.code,
    });
    await transport.publish(inboxTopic(device, 'tick'), verdict, { qos });
  }

  /** `send`, with a failure logged rather than thrown: the frame's round settles all the same. */
  answer(device: string, outcome: TickOutcome): Promise<void> {
    return this.send(device, outcome).catch((error: unknown) => this.deps.logger.warn({ err: error, device }, 'tick verdict not delivered'));
  }
}

/** A refusal for a frame the service did not judge (a rate limit): named by its channel, seq and index when it decodes. */
export function refusedTickVerdict(payload: Uint8Array, code: ErrorCode): Uint8Array {
  let named: Named = { channelId: new Uint8Array(CHANNEL_ID_BYTES), checkpointSeq: 0n, index: 0 };
  try {
    if (tickFrameKindOf(payload) === 'tick') named = decodeTick(payload);
    else {
      const { checkpoint } = decodeSignedCheckpoint(payload);
      named = { channelId: checkpoint.channelId, checkpointSeq: checkpoint.seq, index: 0 };
    }
  } catch {
    // undecodable: the zero channel
  }
  return encodeTickVerdict({ channelId: named.channelId, checkpointSeq: named.checkpointSeq, index: named.index, total: ZERO, code });
}
