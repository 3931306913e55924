// The language-neutral golden vectors of test/vectors/protocol/ checked against the shared code:
// every JSON message example parses to its recorded form or is refused with its recorded code,
// and every binary example encodes, decodes and signs to its recorded bytes. A device written in
// another language checks itself against the same files.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCode } from './helpers/error-code.js';
import { KINDS, outcomeOf, toNeutral } from './helpers/protocol-vectors.js';
import type { Amount } from '../shared/amount.js';
import { decodeCertificate, encodeCertificate } from '../shared/certificate.js';
import { decodeCheckpoint, encodeCheckpoint } from '../shared/checkpoint.js';
import { decodeConnectToken, encodeConnectToken } from '../shared/connect-token.js';
import { backends } from '../shared/crypto.js';
import { ERRORS } from '../shared/errors.js';
import { fromHex, toHex } from '../shared/hex.js';
import { decodeOffer, encodeOffer, offerDigestOf } from '../shared/offer.js';
import { decodeKeyRotation, encodeKeyRotation } from '../shared/key-rotation.js';
import { decodeReceipt, encodeReceipt } from '../shared/receipt.js';
import { PROTOCOL_VERSION } from '../shared/schemas.js';
import { decodeVoucher, encodeVoucher, memoDigestOf } from '../shared/voucher.js';

const load = (name: string): unknown => JSON.parse(readFileSync(new URL(`./vectors/protocol/${name}`, import.meta.url), 'utf8'));

interface MessageFile {
  readonly protocolVersion: number;
  readonly errors: unknown;
  readonly schemas: Record<string, {
    readonly valid: readonly { readonly json: unknown; readonly parsed: unknown }[];
    readonly invalid: readonly { readonly name: string; readonly json?: unknown; readonly raw?: string; readonly error: string }[];
  }>;
}

describe('protocol vectors: JSON messages (messages.json)', () => {
  const file = load('messages.json') as MessageFile;

  it('are for this protocol version and this error registry', () => {
    expect(file.protocolVersion).toBe(PROTOCOL_VERSION);
    expect(file.errors).toEqual(ERRORS);
  });

  it('cover every message kind, and only those', () => {
    expect(Object.keys(file.schemas).sort()).toEqual(Object.keys(KINDS).sort());
  });

  for (const [name, entry] of Object.entries(file.schemas)) {
    it(`${name}: valid examples parse to their recorded form, invalid ones get their recorded code`, () => {
      const kind = KINDS[name];
      if (kind === undefined) throw new Error(`no schema for ${name}`);
      expect(entry.valid.length).toBeGreaterThan(0);
      expect(entry.invalid.length).toBeGreaterThan(0);
      for (const example of entry.valid) expect(outcomeOf(kind.schema, JSON.stringify(example.json)), JSON.stringify(example.json)).toEqual({ parsed: example.parsed });
      for (const example of entry.invalid) {
        expect(outcomeOf(kind.schema, example.raw ?? JSON.stringify(example.json)), example.name).toEqual({ error: example.error });
      }
    });
  }
});

type Fields = Record<string, unknown>;
interface EncodingFile {
  readonly keys: Record<string, { readonly seed: string; readonly publicKey: string }>;
  readonly valid: readonly { readonly kind: string; readonly name: string; readonly fields: Fields; readonly memo?: string; readonly memoSalt?: string; readonly digest?: string; readonly bytes: string; readonly signer: string; readonly signature: string; readonly newSigner?: string; readonly newSignature?: string }[];
  readonly invalid: readonly { readonly kind: string; readonly name: string; readonly bytes: string; readonly error: string }[];
}

const big = (value: unknown): bigint => BigInt((value as { $bigint: string }).$bigint);
const bytesOf = (value: unknown): Uint8Array => fromHex(value as string);

/** Encode and decode by kind, from the neutral field form. */
const CODECS: Record<string, { encode(fields: Fields): Uint8Array; decode(bytes: Uint8Array): unknown }> = {
  voucher: {
    encode: (f) => encodeVoucher({ channelId: bytesOf(f.channelId), seq: big(f.seq), total: big(f.total) as Amount, expiresAtSeconds: big(f.expiresAtSeconds), memoDigest: f.memoDigest === null ? null : bytesOf(f.memoDigest) }),
    decode: decodeVoucher,
  },
  receipt: {
    encode: (f) => encodeReceipt({ channelId: bytesOf(f.channelId), seq: big(f.seq), total: big(f.total) as Amount }),
    decode: decodeReceipt,
  },
  certificate: {
    encode: (f) => encodeCertificate({
      channelId: bytesOf(f.channelId), payer: f.payer as string, payerKey: bytesOf(f.payerKey), payee: f.payee as string, payeeKey: bytesOf(f.payeeKey),
      deposit: big(f.deposit) as Amount, currency: f.currency as string, expiresAtSeconds: big(f.expiresAtSeconds), revision: f.revision as number,
    }),
    decode: decodeCertificate,
  },
  connectToken: {
    encode: (f) => encodeConnectToken({ device: f.device as string, broker: f.broker as string, timeMs: big(f.timeMs), nonce: bytesOf(f.nonce) }),
    decode: decodeConnectToken,
  },
  offer: {
    encode: (f) => encodeOffer({
      seller: f.seller as string, currency: f.currency as string, unit: f.unit as string, price: big(f.price) as Amount, issuedAtMs: big(f.issuedAtMs), expiresAtSeconds: big(f.expiresAtSeconds),
    }),
    decode: decodeOffer,
  },
  keyRotation: {
    encode: (f) => encodeKeyRotation({ device: f.device as string, currentKey: bytesOf(f.currentKey), newKey: bytesOf(f.newKey), timeMs: big(f.timeMs) }),
    decode: decodeKeyRotation,
  },
  checkpoint: {
    encode: (f) => encodeCheckpoint({
      channelId: bytesOf(f.channelId), seq: big(f.seq), total: big(f.total) as Amount, expiresAtSeconds: big(f.expiresAtSeconds),
      chainRoot: bytesOf(f.chainRoot), chainLength: f.chainLength as number, pricePerTick: big(f.pricePerTick) as Amount,
    }),
    decode: decodeCheckpoint,
  },
};

describe('protocol vectors: signed binary encodings (encodings.json)', () => {
  const file = load('encodings.json') as EncodingFile;

  it('name every kind of signed object', () => {
    expect(new Set(file.valid.map((entry) => entry.kind))).toEqual(new Set(Object.keys(CODECS)));
  });

  it('keys: the public key of each seed', () => {
    for (const key of Object.values(file.keys)) expect(toHex(backends.native.publicKeyOf(fromHex(key.seed)))).toBe(key.publicKey);
  });

  for (const entry of file.valid) {
    it(`${entry.name}: encodes, decodes, and signs (both backends) to the recorded bytes`, () => {
      const codec = CODECS[entry.kind];
      if (codec === undefined) throw new Error(`no codec for ${entry.kind}`);
      expect(toHex(codec.encode(entry.fields))).toBe(entry.bytes);
      expect(toNeutral(codec.decode(fromHex(entry.bytes)))).toEqual(entry.fields);
      if (entry.memo !== undefined) expect(toHex(memoDigestOf(entry.memo, fromHex(entry.memoSalt ?? '')))).toBe(entry.fields.memoDigest);
      if (entry.digest !== undefined) expect(toHex(offerDigestOf(fromHex(entry.bytes)))).toBe(entry.digest);
      const key = file.keys[entry.signer];
      if (key === undefined) throw new Error(`no key ${entry.signer}`);
      for (const backend of [backends.native, backends.noble]) {
        expect(toHex(backend.sign(fromHex(entry.bytes), fromHex(key.seed)))).toBe(entry.signature);
        expect(backend.verify(fromHex(entry.signature), fromHex(entry.bytes), fromHex(key.publicKey))).toBe(true);
      }
      // A key rotation is also signed by the new key (proof of possession).
      if (entry.newSigner !== undefined) {
        const newKey = file.keys[entry.newSigner];
        if (newKey === undefined) throw new Error(`no key ${entry.newSigner}`);
        expect(toHex(backends.native.sign(fromHex(entry.bytes), fromHex(newKey.seed)))).toBe(entry.newSignature);
        expect(entry.fields.newKey).toBe(newKey.publicKey);
      }
    });
  }

  for (const entry of file.invalid) {
    it(`${entry.kind}, ${entry.name}: refused with ${entry.error}`, () => {
      const codec = CODECS[entry.kind];
      if (codec === undefined) throw new Error(`no codec for ${entry.kind}`);
      expect(errorCode(() => codec.decode(fromHex(entry.bytes)))).toBe(entry.error);
    });
  }
});
