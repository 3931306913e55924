// Fuzz properties for every decoder and schema in shared/: arbitrary and mutated inputs must
// never crash a decoder or make it throw anything but an MqpayError where the API promises one,
// and a mutated valid encoding is either refused or decodes to something that re-encodes to the
// very same bytes (so no two byte strings decode to one value: a signature covers exactly one).
// Used twice: test/fuzz-decoders.test.ts runs a few thousand inputs in `npm test`;
// test/fuzz/decoders.fuzz.ts (`npm run fuzz`) runs a million or more.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import * as z from 'zod';
import { formatAmount, parseAmount } from '../../shared/amount.js';
import { decodeCertificate, encodeCertificate } from '../../shared/certificate.js';
import { decodeConnectToken, encodeConnectToken, joinConnectPassword, splitConnectPassword } from '../../shared/connect-token.js';
import { decodeKeyRotation, encodeKeyRotation } from '../../shared/key-rotation.js';
import { backends } from '../../shared/crypto.js';
import { MqpayError } from '../../shared/errors.js';
import { fromHex, toHex, bytesEqual } from '../../shared/hex.js';
import * as opsEvents from '../../shared/ops-events.js';
import { decodeReceipt, encodeReceipt } from '../../shared/receipt.js';
import * as schemas from '../../shared/schemas.js';
import { passesEncodingRule } from '../../shared/signature-rule.js';
import { decodeTickVerdict, encodeTickVerdict } from '../../shared/tick-verdict.js';
import { inboxTopic, offerTopic, opsTopic, outboxTopic, parseTopic } from '../../shared/topics.js';
import { decodeVoucher, encodeVoucher } from '../../shared/voucher.js';
import { KINDS } from '../helpers/protocol-vectors.js';
import { FRAME_CODECS } from '../helpers/frame-codecs.js';

export interface FuzzProperty {
  readonly name: string;
  /** Relative cost: the property runs `runs * weight` inputs (signature checks cost more). */
  readonly weight: number;
  readonly property: fc.IRawProperty<unknown[]>;
}

/** Runs `fn`; an MqpayError is a refusal (returns undefined), anything else thrown fails the property. */
function refusedOr<T>(what: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    if (error instanceof MqpayError) return undefined;
    throw new Error(`${what} threw a non-MqpayError: ${String((error as Error)?.stack ?? error)}`);
  }
}

const encodings = JSON.parse(readFileSync(new URL('../vectors/protocol/encodings.json', import.meta.url), 'utf8')) as {
  keys: Record<string, { seed: string; publicKey: string }>;
  valid: { kind: string; bytes: string; signer: string; signature: string }[];
};

interface BinaryCodec {
  readonly kind: string;
  readonly decode: (bytes: Uint8Array) => unknown;
  readonly encode: (value: never) => Uint8Array;
}
const CODECS: readonly BinaryCodec[] = [
  { kind: 'voucher', decode: decodeVoucher, encode: encodeVoucher },
  { kind: 'receipt', decode: decodeReceipt, encode: encodeReceipt },
  { kind: 'certificate', decode: decodeCertificate, encode: encodeCertificate },
  { kind: 'connectToken', decode: decodeConnectToken, encode: encodeConnectToken },
  { kind: 'keyRotation', decode: decodeKeyRotation, encode: encodeKeyRotation },
  // The binary frames of protocol v3 (out/voucher-bin, out/receipt-bin, in/voucher-bin, in/receipt-bin).
  ...FRAME_CODECS,
  // The tick verdict on in/tick (v3): its valid vectors live in hash-chain.json.
  { kind: 'tickVerdict', decode: decodeTickVerdict, encode: encodeTickVerdict },
];
const frames = JSON.parse(readFileSync(new URL('../vectors/protocol/frames.json', import.meta.url), 'utf8')) as { valid: { kind: string; bytes: string }[] };
const hashChain = JSON.parse(readFileSync(new URL('../vectors/protocol/hash-chain.json', import.meta.url), 'utf8')) as { verdicts: { bytes: string }[] };
const tickVerdicts = hashChain.verdicts.map((entry) => ({ kind: 'tickVerdict', bytes: entry.bytes }));
const validBytesOf = (kind: string): Uint8Array[] => [...encodings.valid, ...frames.valid, ...tickVerdicts].filter((entry) => entry.kind === kind).map((entry) => fromHex(entry.bytes));

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; count: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(0, 1, 0x7f, 0x80, 0xff), fc.integer({ min: 0, max: 255 })) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }) },
);

function mutate(original: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let bytes = Uint8Array.from(original);
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % (bytes.length + (m.op === 'insert' ? 1 : 0));
    if (m.op === 'flip' && bytes.length > 0) bytes[at] = (bytes[at] as number) ^ (1 << m.bit);
    else if (m.op === 'set' && bytes.length > 0) bytes[at] = m.value;
    else if (m.op === 'truncate') bytes = bytes.slice(0, at);
    else if (m.op === 'insert') bytes = Uint8Array.from([...bytes.subarray(0, at), ...m.bytes, ...bytes.subarray(at)]);
    else if (m.op === 'delete') bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + m.count)]);
  }
  return bytes;
}

/** A decoded value must re-encode to exactly the bytes it came from. */
function checkRoundTrip(codec: BinaryCodec, bytes: Uint8Array): void {
  const value = refusedOr(`decode ${codec.kind}`, () => codec.decode(bytes));
  if (value === undefined) return;
  const again = codec.encode(value as never);
  if (!bytesEqual(again, bytes)) throw new Error(`${codec.kind}: ${toHex(bytes)} decoded, but re-encodes to ${toHex(again)}`);
}

function binaryProperties(): FuzzProperty[] {
  const out: FuzzProperty[] = [];
  for (const codec of CODECS) {
    const valid = validBytesOf(codec.kind);
    if (valid.length === 0) throw new Error(`no valid ${codec.kind} in the vectors`);
    const length = (valid[0] as Uint8Array).length;
    out.push({
      name: `${codec.kind}: arbitrary bytes`, weight: 1,
      property: fc.property(fc.oneof(fc.uint8Array({ maxLength: length * 2 }), fc.uint8Array({ minLength: length, maxLength: length })), (bytes) => checkRoundTrip(codec, bytes)),
    });
    // The header kept and the rest random, at the exact length: reaches the field checks.
    out.push({
      name: `${codec.kind}: valid header, random body`, weight: 1,
      property: fc.property(fc.uint8Array({ minLength: length - 9, maxLength: length - 9 }), (body) => checkRoundTrip(codec, Uint8Array.from([...(valid[0] as Uint8Array).subarray(0, 9), ...body]))),
    });
    out.push({
      name: `${codec.kind}: mutated valid encodings`, weight: 1,
      property: fc.property(fc.constantFrom(...valid), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (bytes, mutations) => checkRoundTrip(codec, mutate(bytes, mutations))),
    });
  }
  const password = (() => {
    const token = validBytesOf('connectToken')[0] as Uint8Array;
    const entry = encodings.valid.find((e) => e.kind === 'connectToken');
    return joinConnectPassword(token, fromHex(entry?.signature ?? ''));
  })();
  out.push({
    name: 'splitConnectPassword: arbitrary and mutated passwords', weight: 1,
    property: fc.property(fc.oneof(fc.uint8Array({ maxLength: password.length * 2 }), fc.array(mutationArb, { minLength: 1, maxLength: 4 }).map((m) => mutate(password, m))), (bytes) => {
      const parts = refusedOr('splitConnectPassword', () => splitConnectPassword(bytes));
      if (parts === undefined) return;
      if (!bytesEqual(joinConnectPassword(parts.tokenBytes, parts.signature), bytes)) throw new Error(`password ${toHex(bytes)} does not join back`);
      refusedOr('decodeConnectToken', () => decodeConnectToken(parts.tokenBytes));
    }),
  });
  return out;
}

const HEX_CHARS = '0123456789abcdefABCDEFgxz -'.split('');
const hexishArb = fc.oneof(fc.string({ maxLength: 80 }), fc.array(fc.constantFrom(...HEX_CHARS), { maxLength: 80 }).map((chars) => chars.join('')));

function textProperties(): FuzzProperty[] {
  return [
    {
      name: 'fromHex: arbitrary text, with and without a pinned length', weight: 1,
      property: fc.property(hexishArb, fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }), (text, bytes) => {
        const decoded = refusedOr('fromHex', () => fromHex(text, bytes));
        if (decoded === undefined) return;
        if (toHex(decoded) !== text.toLowerCase()) throw new Error(`fromHex(${JSON.stringify(text)}) = ${toHex(decoded)}`);
      }),
    },
    {
      name: 'parseAmount: arbitrary and amount-like text', weight: 1,
      property: fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.array(fc.constantFrom(...'0123456789.-+e '.split('')), { maxLength: 30 }).map((c) => c.join('')), fc.bigInt({ min: 0n, max: (1n << 64n) + 5n }).map((n) => `${n / 1_000_000n}.${(n % 1_000_000n).toString().padStart(6, '0')}`)), (text) => {
        const amount = refusedOr('parseAmount', () => parseAmount(text));
        if (amount === undefined) return;
        if (parseAmount(formatAmount(amount)) !== amount) throw new Error(`${JSON.stringify(text)} does not survive format and parse`);
      }),
    },
    {
      name: 'parseTopic: arbitrary and topic-like text never throws, and what it parses rebuilds the same topic', weight: 1,
      property: fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.array(fc.oneof(fc.constantFrom('mqpay', 'v1', 'd', 'out', 'in', 'offers', 'ops', 'voucher', 'rpc', 'notice', 'events', 'car-1', '+', '#', '', 'ö'), fc.string({ maxLength: 12 })), { maxLength: 8 }).map((levels) => levels.join('/'))), (topic) => {
        let parsed: ReturnType<typeof parseTopic>;
        try {
          parsed = parseTopic(topic);
        } catch (error) {
          throw new Error(`parseTopic(${JSON.stringify(topic)}) threw ${String(error)}`);
        }
        if (parsed === null) return;
        const rebuilt = parsed.kind === 'outbox' ? outboxTopic(parsed.device, parsed.box) : parsed.kind === 'inbox' ? inboxTopic(parsed.device, parsed.box) : parsed.kind === 'offer' ? offerTopic(parsed.device) : opsTopic(parsed.stream);
        if (rebuilt !== topic) throw new Error(`parseTopic(${JSON.stringify(topic)}) rebuilds as ${rebuilt}`);
      }),
    },
  ];
}

/** Every zod schema exported by shared/schemas.ts and shared/ops-events.ts, and every RPC method's params and result. */
export function allSchemas(): Map<string, z.ZodType> {
  const found = new Map<string, z.ZodType>();
  for (const [file, module] of [['schemas', schemas], ['ops-events', opsEvents]] as const) {
    for (const [name, value] of Object.entries(module)) if (value instanceof z.ZodType) found.set(`${file}.${name}`, value);
  }
  for (const [method, entry] of Object.entries(schemas.RPC_METHODS)) {
    found.set(`${method} params`, entry.params);
    found.set(`${method} result`, entry.result);
  }
  return found;
}

function schemaProperties(): FuzzProperty[] {
  const table = [...allSchemas()];
  const validTexts = Object.values(KINDS).flatMap((kind) => kind.valid.map((json) => new TextEncoder().encode(JSON.stringify(json))));
  const payloadArb = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.json({ maxDepth: 3 }).map((text) => new TextEncoder().encode(text)),
    fc.tuple(fc.constantFrom(...validTexts), fc.array(mutationArb, { minLength: 1, maxLength: 3 })).map(([bytes, m]) => mutate(bytes, m)),
    // Valid messages with one field replaced by an arbitrary JSON value: reaches refinements and transforms.
    fc.tuple(fc.constantFrom(...Object.values(KINDS).flatMap((kind) => kind.valid)), fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 })).map(([message, key, value]) => {
      const object = { ...(message as Record<string, unknown>) };
      const keys = Object.keys(object);
      object[keys.length > 0 && key.length % 2 === 0 ? (keys[key.length % keys.length] as string) : key] = value;
      return new TextEncoder().encode(JSON.stringify(object));
    }),
  );
  return [{
    name: `parsePayload: arbitrary, JSON and mutated valid payloads against all ${table.length} schemas`, weight: 0.1, // each input is parsed ${table.length} times
    property: fc.property(payloadArb, (payload) => {
      for (const [name, schema] of table) refusedOr(`parsePayload(${name})`, () => schemas.parsePayload(schema, payload));
    }),
  }];
}

function signatureProperties(): FuzzProperty[] {
  const entry = encodings.valid.find((e) => e.kind === 'voucher');
  if (entry === undefined) throw new Error('no voucher vector');
  const message = fromHex(entry.bytes);
  const signature = fromHex(entry.signature);
  const publicKey = fromHex(encodings.keys[entry.signer]?.publicKey ?? '');
  const out: FuzzProperty[] = [{
    name: 'signature rule: wrong lengths throw an MqpayError, right lengths give a boolean', weight: 1,
    property: fc.property(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: 40 }), (sig, key) => {
      const result = refusedOr('passesEncodingRule', () => passesEncodingRule(sig, key));
      const lengthsRight = sig.length === 64 && key.length === 32;
      if (lengthsRight !== (typeof result === 'boolean')) throw new Error(`passesEncodingRule(${sig.length}, ${key.length} bytes) gave ${String(result)}`);
    }),
  }];
  for (const backend of Object.values(backends)) {
    out.push({
      name: `verify (${backend.name}): a mutated signature, key or message is false, never an exception`, weight: backend.name === 'noble' ? 0.02 : 0.2,
      property: fc.property(fc.integer({ min: 0, max: 2 }), fc.array(fc.record({ at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }), { minLength: 1, maxLength: 3 }), (which, flips) => {
        const parts = [Uint8Array.from(signature), Uint8Array.from(publicKey), Uint8Array.from(message)];
        const part = parts[which] as Uint8Array;
        for (const flip of flips) part[flip.at % part.length] = (part[flip.at % part.length] as number) ^ (1 << flip.bit);
        const changed = !bytesEqual(parts[0] as Uint8Array, signature) || !bytesEqual(parts[1] as Uint8Array, publicKey) || !bytesEqual(parts[2] as Uint8Array, message);
        const result = backend.verify(parts[0] as Uint8Array, parts[2] as Uint8Array, parts[1] as Uint8Array);
        if (result !== !changed) throw new Error(`${backend.name} verify gave ${result} for ${changed ? 'a mutated' : 'the original'} signature`);
      }),
    });
    out.push({
      name: `verify (${backend.name}): arbitrary bytes of any length: false or an MqpayError`, weight: backend.name === 'noble' ? 0.02 : 0.2,
      property: fc.property(fc.oneof(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.uint8Array({ maxLength: 70 })), fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 40 })), fc.uint8Array({ maxLength: 100 }), (sig, key, msg) => {
        const result = refusedOr(`${backend.name} verify`, () => backend.verify(sig, msg, key));
        if (result === true) throw new Error(`${backend.name} verified a random signature`);
      }),
    });
  }
  return out;
}

export function decoderProperties(): FuzzProperty[] {
  return [...binaryProperties(), ...textProperties(), ...schemaProperties(), ...signatureProperties()];
}

/** Runs one property with a seed; returns how many inputs it tried. Throws (with fast-check's replay data) on a failure. */
export function runProperty(entry: FuzzProperty, runs: number, seed: number): number {
  const numRuns = Math.max(10, Math.round(runs * entry.weight));
  fc.assert(entry.property, { numRuns, seed, endOnFailure: true });
  return numRuns;
}
