// Hash-chain ticks (protocol v3): the golden vectors of test/vectors/protocol/hash-chain.json, and
// property tests of the chain, the checkpoint and tick encodings, and the one tick rule.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorCode } from './helpers/error-code.js';
import { toNeutral } from './helpers/protocol-vectors.js';
import { amountOf, type Amount } from '../shared/amount.js';
import { backends } from '../shared/crypto.js';
import { CHECKPOINT_BYTES, checkpointTotalAt, decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../shared/checkpoint.js';
import { HASH_CHAIN_ANCHOR_INTERVAL, HashChain, hashLink } from '../shared/hash-chain.js';
import { fromHex, toHex } from '../shared/hex.js';
import { TICK_SKIP_MAX } from '../shared/limits.js';
import { TICK_BYTES, decodeTick, encodeTick } from '../shared/tick.js';
import { ERROR_CODES } from '../shared/errors.js';
import { decodeSignedCheckpoint, encodeSignedCheckpoint, tickFrameKindOf } from '../shared/tick-frames.js';
import { ERROR_CODE_TABLE } from '../shared/error-index.js';
import { TICK_VERDICT_ACCEPTED_BYTES, TICK_VERDICT_KIND, TICK_VERDICT_REFUSED_BYTES, decodeTickVerdict, encodeTickVerdict } from '../shared/tick-verdict.js';
import { acceptTick, chainLinkProves, chainStateOf, chainTotal, type ChainState } from '../shared/tick-rules.js';

interface ChainFile {
  readonly seed: string;
  readonly links: readonly string[];
  readonly checkpoint: { readonly fields: unknown; readonly bytes: string; readonly signature: string };
  readonly deposit: { readonly $bigint: string };
  readonly ticks: readonly { readonly name: string; readonly fields: unknown; readonly bytes: string }[];
  readonly checks: readonly { readonly name: string; readonly bytes: string; readonly accepted?: boolean; readonly total?: { readonly $bigint: string }; readonly error?: string }[];
  readonly invalid: readonly { readonly name: string; readonly bytes: string; readonly error: string }[];
  readonly verdicts: readonly { readonly name: string; readonly fields: unknown; readonly bytes: string }[];
  readonly verdictsInvalid: readonly { readonly name: string; readonly bytes: string; readonly error: string }[];
}
const file = JSON.parse(readFileSync(new URL('./vectors/protocol/hash-chain.json', import.meta.url), 'utf8')) as ChainFile;
const SIGNER_KEY = backends.native.publicKeyOf(Uint8Array.from({ length: 32 }, (_, i) => i + 1));

describe('hash-chain vectors (hash-chain.json)', () => {
  it('the links: seed at the top, each the SHA-256 of the one above, root at 0', () => {
    const chain = new HashChain(fromHex(file.seed), file.links.length - 1);
    file.links.forEach((link, i) => expect(toHex(chain.link(i)), `link ${i}`).toBe(link));
    for (let i = 1; i < file.links.length; i++) expect(toHex(hashLink(fromHex(file.links[i] as string)))).toBe(file.links[i - 1]);
  });

  it('the checkpoint decodes to its fields, commits to the root, and verifies under the signer key', () => {
    const bytes = fromHex(file.checkpoint.bytes);
    expect(toNeutral(decodeCheckpoint(bytes))).toEqual(file.checkpoint.fields);
    expect(decodeCheckpoint(bytes).chainRoot).toEqual(fromHex(file.links[0] as string));
    expect(backends.native.verify(fromHex(file.checkpoint.signature), bytes, SIGNER_KEY)).toBe(true);
  });

  for (const tick of file.ticks) {
    it(`${tick.name}: encodes and decodes to the recorded bytes`, () => {
      const decoded = decodeTick(fromHex(tick.bytes));
      expect(toNeutral(decoded)).toEqual(tick.fields);
      expect(toHex(encodeTick(decoded))).toBe(tick.bytes);
    });
  }

  it('the checks, in order, against one channel state', () => {
    let state = chainStateOf(decodeCheckpoint(fromHex(file.checkpoint.bytes)));
    const deposit = amountOf(BigInt(file.deposit.$bigint));
    for (const check of file.checks) {
      const tick = decodeTick(fromHex(check.bytes));
      if (check.error !== undefined) {
        expect(errorCode(() => acceptTick(state, tick, deposit)), check.name).toBe(check.error);
      } else {
        state = acceptTick(state, tick, deposit);
        expect(chainTotal(state).toString(), check.name).toBe(check.total?.$bigint);
      }
    }
  });

  for (const entry of file.invalid) {
    it(`tick, ${entry.name}: refused with ${entry.error}`, () => {
      expect(errorCode(() => decodeTick(fromHex(entry.bytes)))).toBe(entry.error);
    });
  }

  for (const verdict of file.verdicts) {
    it(`verdict, ${verdict.name}: encodes and decodes to the recorded bytes`, () => {
      const decoded = decodeTickVerdict(fromHex(verdict.bytes));
      expect(toNeutral(decoded)).toEqual(verdict.fields);
      expect(toHex(encodeTickVerdict(decoded))).toBe(verdict.bytes);
    });
  }

  for (const entry of file.verdictsInvalid) {
    it(`verdict, ${entry.name}: refused with ${entry.error}`, () => {
      expect(errorCode(() => decodeTickVerdict(fromHex(entry.bytes)))).toBe(entry.error);
    });
  }
});

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const SEED = 0x7ace;

function checkpointFor(chain: HashChain, price: bigint, total = 0n): Checkpoint {
  return { channelId: new Uint8Array(32).fill(7), seq: 5n, total: amountOf(total), expiresAtSeconds: 1_800_000_000n, chainRoot: chain.root, chainLength: chain.length, pricePerTick: amountOf(price) };
}
const tickOf = (chain: HashChain, index: number, preimage = chain.link(index)) => ({ channelId: new Uint8Array(32).fill(7), checkpointSeq: 5n, index, preimage });

describe('hash-chain properties', () => {
  it('every link hashes to the one below it, across anchor segments, whatever the order asked', () => {
    fc.assert(fc.property(bytes32, fc.integer({ min: 1, max: 3 * HASH_CHAIN_ANCHOR_INTERVAL + 5 }), fc.array(fc.nat(), { maxLength: 20 }), (seed, length, asks) => {
      const chain = new HashChain(seed, length);
      expect(chain.link(length)).toEqual(seed);
      for (const ask of asks) {
        const i = (ask % length) + 1;
        expect(hashLink(chain.link(i))).toEqual(chain.link(i - 1));
      }
    }), { seed: SEED, numRuns: 40 });
  });

  it('a checkpoint and a tick round-trip, and any other length is refused', () => {
    fc.assert(fc.property(bytes32, bytes32, fc.bigInt({ min: 1n, max: (1n << 63n) - 1n }), fc.integer({ min: 1, max: 1_048_576 }), fc.bigInt({ min: 1n, max: 1_000_000_000n }), fc.bigInt({ min: 0n, max: 1n << 40n }),
      (channelId, root, seq, length, price, total) => {
        const checkpoint: Checkpoint = { channelId, seq, total: amountOf(total), expiresAtSeconds: 1n, chainRoot: root, chainLength: length, pricePerTick: amountOf(price) };
        const bytes = encodeCheckpoint(checkpoint);
        expect(bytes.length).toBe(CHECKPOINT_BYTES);
        expect(decodeCheckpoint(bytes)).toEqual(checkpoint);
        expect(errorCode(() => decodeCheckpoint(bytes.subarray(1)))).toBe('ENCODING_INVALID');
        const tick = { channelId, checkpointSeq: seq, index: length, preimage: root };
        const tickBytes = encodeTick(tick);
        expect(tickBytes.length).toBe(TICK_BYTES);
        expect(decodeTick(tickBytes)).toEqual(tick);
        expect(errorCode(() => decodeTick(new Uint8Array([...tickBytes, 0])))).toBe('ENCODING_INVALID');
      }), { seed: SEED, numRuns: 200 });
  });

  it('a stream of ticks (with skips) is accepted, each total is checkpoint + index x price, and replays are refused', () => {
    fc.assert(fc.property(bytes32, fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 30 }), fc.bigInt({ min: 1n, max: 1_000n }), fc.bigInt({ min: 0n, max: 10_000n }), (seed, steps, price, paid) => {
      const chain = new HashChain(seed, 600);
      const checkpoint = checkpointFor(chain, price, paid);
      const deposit = amountOf(paid + 600n * price);
      let state: ChainState = chainStateOf(checkpoint);
      let index = 0;
      for (const step of steps) {
        index += step;
        state = acceptTick(state, tickOf(chain, index), deposit);
        expect(chainTotal(state)).toBe(paid + BigInt(index) * price);
        expect(errorCode(() => acceptTick(state, tickOf(chain, index), deposit))).toBe('TICK_INDEX_INVALID');
        expect(chainLinkProves(checkpoint, index, state.highestLink)).toBe(true);
      }
    }), { seed: SEED, numRuns: 60 });
  });

  it('a wrong preimage is refused and leaves nothing accepted', () => {
    fc.assert(fc.property(bytes32, bytes32, fc.integer({ min: 1, max: 64 }), (seed, wrong, index) => {
      const chain = new HashChain(seed, 64);
      fc.pre(toHex(wrong) !== toHex(chain.link(index)));
      const state = chainStateOf(checkpointFor(chain, 1n));
      expect(errorCode(() => acceptTick(state, tickOf(chain, index, wrong), amountOf(1000n)))).toBe('TICK_PREIMAGE_INVALID');
      expect(chainLinkProves(state.checkpoint, index, wrong)).toBe(false);
    }), { seed: SEED, numRuns: 100 });
  });

  it('a skip beyond TICK_SKIP_MAX is refused before hashing; exactly TICK_SKIP_MAX is accepted', () => {
    const chain = new HashChain(new Uint8Array(32).fill(3), TICK_SKIP_MAX + 10);
    const state = chainStateOf(checkpointFor(chain, 1n));
    const deposit = amountOf(1n << 32n);
    expect(errorCode(() => acceptTick(state, tickOf(chain, TICK_SKIP_MAX + 1), deposit))).toBe('TICK_SKIP_TOO_LARGE');
    expect(acceptTick(state, tickOf(chain, TICK_SKIP_MAX), deposit).highestIndex).toBe(TICK_SKIP_MAX);
  });

  it('a tick past the deposit or past the chain is refused; the last one within both is accepted', () => {
    fc.assert(fc.property(bytes32, fc.integer({ min: 1, max: 50 }), fc.bigInt({ min: 1n, max: 1_000n }), (seed, affordable, price) => {
      const chain = new HashChain(seed, 60);
      const checkpoint = checkpointFor(chain, price, 7n);
      const deposit: Amount = checkpointTotalAt(checkpoint, affordable);
      const state = chainStateOf(checkpoint);
      expect(errorCode(() => acceptTick(state, tickOf(chain, affordable + 1), deposit))).toBe('TICK_ABOVE_DEPOSIT');
      expect(chainTotal(acceptTick(state, tickOf(chain, affordable), deposit))).toBe(deposit);
      expect(errorCode(() => acceptTick(state, { ...tickOf(chain, 60), index: 61 }, amountOf(1n << 40n)))).toBe('TICK_INDEX_INVALID');
    }), { seed: SEED, numRuns: 60 });
  });
});

describe('tick frames: verdicts and signed checkpoints', () => {
  it('a verdict round-trips (accepted or refused with a registry code) and anything else is refused', () => {
    fc.assert(fc.property(bytes32, fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }), fc.nat({ max: 0xffff_ffff }), fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }), fc.constantFrom(null, ...ERROR_CODES), (channelId, checkpointSeq, index, total, code) => {
      const verdict = { channelId, checkpointSeq, index, total: code === null ? amountOf(total) : amountOf(0n), code };
      const bytes = encodeTickVerdict(verdict);
      expect(bytes.length).toBe(code === null ? TICK_VERDICT_ACCEPTED_BYTES : TICK_VERDICT_REFUSED_BYTES);
      expect(bytes[9]).toBe(code === null ? TICK_VERDICT_KIND.accepted : TICK_VERDICT_KIND.refused);
      expect(tickFrameKindOf(bytes)).toBe('verdict');
      expect(decodeTickVerdict(bytes)).toEqual(verdict);
      expect(errorCode(() => decodeTickVerdict(bytes.subarray(0, bytes.length - 1)))).toBe('ENCODING_INVALID');
      expect(errorCode(() => decodeTickVerdict(new Uint8Array([...bytes, 0])))).toBe('ENCODING_INVALID');
    }), { seed: SEED, numRuns: 200 });
    const refused = (): Uint8Array => encodeTickVerdict({ channelId: new Uint8Array(32), checkpointSeq: 1n, index: 1, total: amountOf(0n), code: 'TICK_INDEX_INVALID' });
    // The error index sits right after the header (bytes 10-11): every index of the frozen table
    // decodes to its code, the first index past it and the largest u16 are refused.
    ERROR_CODE_TABLE.forEach((code, index) => {
      const frame = refused();
      frame.set([index >> 8, index & 0xff], 10);
      expect(decodeTickVerdict(frame).code).toBe(code);
    });
    for (const index of [ERROR_CODE_TABLE.length, 0xffff]) {
      const frame = refused();
      frame.set([index >> 8, index & 0xff], 10);
      expect(errorCode(() => decodeTickVerdict(frame))).toBe('ENCODING_INVALID');
    }
    const otherKind = refused();
    otherKind[9] = 3;
    expect(errorCode(() => decodeTickVerdict(otherKind))).toBe('ENCODING_INVALID');
    // A refusal's total is not on the wire: the encoder refuses to drop one.
    expect(() => encodeTickVerdict({ channelId: new Uint8Array(32), checkpointSeq: 1n, index: 1, total: amountOf(1n), code: 'TICK_INDEX_INVALID' })).toThrow();
  });

  it('a signed checkpoint frame splits into the vector checkpoint and its signature; other lengths and tags are refused', () => {
    const frame = encodeSignedCheckpoint(fromHex(file.checkpoint.bytes), fromHex(file.checkpoint.signature));
    expect(frame.length).toBe(CHECKPOINT_BYTES + 64);
    expect(tickFrameKindOf(frame)).toBe('checkpoint');
    const signed = decodeSignedCheckpoint(frame);
    expect(toHex(signed.bytes)).toBe(file.checkpoint.bytes);
    expect(toHex(signed.signature)).toBe(file.checkpoint.signature);
    expect(errorCode(() => decodeSignedCheckpoint(frame.subarray(1)))).toBe('ENCODING_INVALID');
    expect(errorCode(() => tickFrameKindOf(fromHex('4d51504159')))).toBe('ENCODING_INVALID');
    expect(errorCode(() => tickFrameKindOf(new TextEncoder().encode('{"v":2,"voucher":"00"}')))).toBe('ENCODING_INVALID');
  });
});
