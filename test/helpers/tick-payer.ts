// A test-side payer and payee of hash-chain ticks over a real DeviceLink: frames out on
// `out/tick`, verdicts and forwarded frames back on `in/tick`, each verdict matched to its frame.
import type { DeviceLink } from '../../agent/link/link.js';
import { parseAmount, type Amount } from '../../shared/amount.js';
import { encodeCheckpoint, type Checkpoint } from '../../shared/checkpoint.js';
import { sign } from '../../shared/crypto.js';
import { HashChain } from '../../shared/hash-chain.js';
import { toHex } from '../../shared/hex.js';
import { decodeSignedCheckpoint, encodeSignedCheckpoint, tickFrameKindOf } from '../../shared/tick-frames.js';
import { acceptTick, chainStateOf, chainTotal, type ChainState } from '../../shared/tick-rules.js';
import { decodeTickVerdict, type TickVerdict } from '../../shared/tick-verdict.js';
import { decodeTick, encodeTick } from '../../shared/tick.js';

const keyOf = (channelId: Uint8Array, seq: bigint, index: number): string => `${toHex(channelId)}:${seq}:${index}`;

/** Collects the tick verdicts a payer's link receives, by channel, seq and index. */
export class TickVerdicts {
  private readonly waiting = new Map<string, (verdict: TickVerdict) => void>();
  private readonly arrived = new Map<string, TickVerdict>();
  /** Every refusal received, as "index:code". */
  readonly refused: string[] = [];

  constructor(link: DeviceLink) {
    link.on('inbox', (box: string, payload: Uint8Array) => {
      if (box !== 'tick' || tickFrameKindOf(payload) !== 'verdict') return;
      const verdict = decodeTickVerdict(payload);
      if (verdict.code !== null) this.refused.push(`${verdict.index}:${verdict.code}`);
      const key = keyOf(verdict.channelId, verdict.checkpointSeq, verdict.index);
      const waiter = this.waiting.get(key);
      if (waiter === undefined) this.arrived.set(key, verdict);
      else {
        this.waiting.delete(key);
        waiter(verdict);
      }
    });
  }

  next(channelId: Uint8Array, seq: bigint, index: number): Promise<TickVerdict> {
    const key = keyOf(channelId, seq, index);
    const present = this.arrived.get(key);
    if (present !== undefined) {
      this.arrived.delete(key);
      return Promise.resolve(present);
    }
    return new Promise((resolve) => this.waiting.set(key, resolve));
  }
}

export interface TestChain {
  readonly chain: HashChain;
  readonly checkpoint: Checkpoint;
  readonly frame: Uint8Array;
}

export function testChain(secretKey: Uint8Array, input: { channelId: Uint8Array; seq: bigint; seed: Uint8Array; length: number; total: string; price: string }): TestChain {
  const chain = new HashChain(input.seed, input.length);
  const checkpoint: Checkpoint = {
    channelId: input.channelId, seq: input.seq, total: parseAmount(input.total), expiresAtSeconds: BigInt(Math.floor(Date.now() / 1000) + 3600),
    chainRoot: chain.root, chainLength: input.length, pricePerTick: parseAmount(input.price),
  };
  const bytes = encodeCheckpoint(checkpoint);
  return { chain, checkpoint, frame: encodeSignedCheckpoint(bytes, sign(bytes, secretKey)) };
}

export function tickFrame(test: TestChain, index: number, preimage = test.chain.link(index)): Uint8Array {
  return encodeTick({ channelId: test.checkpoint.channelId, checkpointSeq: test.checkpoint.seq, index, preimage });
}

/** A payee that checks every forwarded frame itself: one hash per tick against its own state. */
export class TestPayee {
  state: ChainState | null = null;
  ticks = 0;

  constructor(link: DeviceLink, deposit: Amount) {
    link.on('inbox', (box: string, payload: Uint8Array) => {
      if (box !== 'tick') return;
      const kind = tickFrameKindOf(payload);
      if (kind === 'checkpoint') this.state = chainStateOf(decodeSignedCheckpoint(payload).checkpoint);
      if (kind !== 'tick' || this.state === null) return;
      this.state = acceptTick(this.state, decodeTick(payload), deposit);
      this.ticks += 1;
    });
  }

  get total(): Amount | null {
    return this.state === null ? null : chainTotal(this.state);
  }
}
