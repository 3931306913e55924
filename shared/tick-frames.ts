// What travels on `out/tick` and `in/tick` (protocol v3), told apart by the domain tag that opens
// each frame: a signed checkpoint (its 109 bytes then the payer's 64-byte signature), a tick
// (85 bytes), or a tick verdict (62 bytes accepted, 56 refused; service -> payer only). No JSON on this path.
import { CHECKPOINT_BYTES, CHECKPOINT_TAG, decodeCheckpoint, type Checkpoint } from './checkpoint.js';
import { MqpayError } from './errors.js';
import { bytesEqual } from './hex.js';
import { SIGNATURE_BYTES } from './limits.js';
import { TICK_TAG } from './tick.js';
import { TICK_VERDICT_TAG } from './tick-verdict.js';

export const SIGNED_CHECKPOINT_BYTES = CHECKPOINT_BYTES + SIGNATURE_BYTES;

export type TickFrameKind = 'checkpoint' | 'tick' | 'verdict';

/** The frame's kind from its first 8 bytes; ENCODING_INVALID for anything else. */
export function tickFrameKindOf(payload: Uint8Array): TickFrameKind {
  const tag = payload.subarray(0, 8);
  if (tag.length === 8) {
    if (bytesEqual(tag, TICK_TAG)) return 'tick';
    if (bytesEqual(tag, CHECKPOINT_TAG)) return 'checkpoint';
    if (bytesEqual(tag, TICK_VERDICT_TAG)) return 'verdict';
  }
  throw new MqpayError('ENCODING_INVALID', 'tick frame: unknown domain tag');
}

export interface SignedCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly bytes: Uint8Array;
  readonly signature: Uint8Array;
}

export function encodeSignedCheckpoint(bytes: Uint8Array, signature: Uint8Array): Uint8Array {
  const frame = new Uint8Array(SIGNED_CHECKPOINT_BYTES);
  frame.set(bytes, 0);
  frame.set(signature, CHECKPOINT_BYTES);
  return frame;
}

/** Splits and decodes a signed checkpoint frame (the signature is the caller's to verify). */
export function decodeSignedCheckpoint(frame: Uint8Array): SignedCheckpoint {
  if (frame.length !== SIGNED_CHECKPOINT_BYTES) throw new MqpayError('ENCODING_INVALID', `signed checkpoint: expected ${SIGNED_CHECKPOINT_BYTES} bytes, got ${frame.length}`);
  const bytes = new Uint8Array(frame.subarray(0, CHECKPOINT_BYTES));
  return { checkpoint: decodeCheckpoint(bytes), bytes, signature: new Uint8Array(frame.subarray(CHECKPOINT_BYTES)) };
}
