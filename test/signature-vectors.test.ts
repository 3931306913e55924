// Both signature backends against the public ed25519 vector sets (see test/vectors/README.md):
// every Wycheproof case must give its expected result, every CCTV edge case must get the same
// answer from both backends, and both must sign byte-identically (RFC 8032 golden vectors).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as noble from '@noble/ed25519';
import { describe, expect, it } from 'vitest';
import { backends, defaultBackend, sign, verify, type SignatureBackend } from '../shared/crypto.js';
import { MqpayError } from '../shared/errors.js';

const WYCHEPROOF_CASES = 151;
const CCTV_CASES = 914;

/** Independent hex decoder (Buffer), so a bug in shared/hex.ts cannot hide a vector failure. */
function bytes(hex: string): Uint8Array {
  expect(hex).toMatch(/^(?:[0-9a-f]{2})*$/);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

const hexOf = (value: Uint8Array): string => Buffer.from(value).toString('hex');

function loadJson(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`./vectors/${name}`, import.meta.url), 'utf8'));
}

interface WycheproofCase {
  readonly tcId: number;
  readonly comment: string;
  readonly publicKey: string;
  readonly msg: string;
  readonly sig: string;
  readonly valid: boolean;
}

interface WycheproofFile {
  readonly numberOfTests: number;
  readonly testGroups: ReadonlyArray<{
    readonly publicKey: { readonly pk: string };
    readonly tests: ReadonlyArray<{ tcId: number; comment: string; msg: string; sig: string; result: string }>;
  }>;
}

interface CctvCase {
  readonly number: number;
  readonly key: string;
  readonly sig: string;
  readonly msg: string;
  readonly flags: readonly string[] | null;
}

const wycheproofFile = loadJson('wycheproof-ed25519.json') as WycheproofFile;
const wycheproof: WycheproofCase[] = wycheproofFile.testGroups.flatMap((group) =>
  group.tests.map((test) => {
    if (test.result !== 'valid' && test.result !== 'invalid') throw new Error(`unexpected result ${test.result}`);
    return { tcId: test.tcId, comment: test.comment, publicKey: group.publicKey.pk, msg: test.msg, sig: test.sig, valid: test.result === 'valid' };
  }),
);
const cctv = loadJson('cctv-ed25519.json') as CctvCase[];

/** A throw counts as "does not verify": verify throws on wrong lengths by design. */
function verifies(backend: SignatureBackend, signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return backend.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}

const backendList = Object.values(backends);

describe('vector files', () => {
  it('hold the full sets (a truncated file fails here)', () => {
    expect(wycheproofFile.numberOfTests).toBe(WYCHEPROOF_CASES);
    expect(wycheproof).toHaveLength(WYCHEPROOF_CASES);
    expect(new Set(wycheproof.map((c) => c.tcId)).size).toBe(WYCHEPROOF_CASES);
    expect(wycheproof.filter((c) => c.valid)).toHaveLength(88);
    expect(cctv).toHaveLength(CCTV_CASES);
    expect(cctv.map((c) => c.number)).toEqual(Array.from({ length: CCTV_CASES }, (_, i) => i));
  });

  it('exposes exactly the two backends, native by default', () => {
    expect(Object.keys(backends).sort()).toEqual(['native', 'noble']);
    expect(backends.native.name).toBe('native');
    expect(backends.noble.name).toBe('noble');
    expect(defaultBackend).toBe(backends.native);
  });
});

describe.each(backendList)('Wycheproof ed25519 with $name', (backend) => {
  it(`gives the expected result on all ${WYCHEPROOF_CASES} cases`, () => {
    const wrong: string[] = [];
    for (const c of wycheproof) {
      const got = verifies(backend, bytes(c.sig), bytes(c.msg), bytes(c.publicKey));
      if (got !== c.valid) wrong.push(`tcId ${c.tcId} (${c.comment}): expected ${c.valid}, got ${got}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('CCTV ed25519 edge cases', () => {
  const encoder = new TextEncoder();
  const answers = cctv.map((c) => {
    const signature = bytes(c.sig);
    const message = encoder.encode(c.msg);
    const publicKey = bytes(c.key);
    return {
      c,
      native: verifies(backends.native, signature, message, publicKey),
      noble: verifies(backends.noble, signature, message, publicKey),
    };
  });
  const accepted = answers.filter((a) => a.native).length;
  console.log(`CCTV: ${CCTV_CASES} vectors, both backends agree on ${answers.filter((a) => a.native === a.noble).length}; accepted ${accepted}, rejected ${CCTV_CASES - accepted}`);

  it(`get the same answer from both backends on all ${CCTV_CASES} vectors`, () => {
    const disagreements = answers.filter((a) => a.native !== a.noble).map((a) => `#${a.c.number} native=${a.native} noble=${a.noble}`);
    expect(disagreements).toEqual([]);
  });

  it('accept exactly the vectors the one rule accepts: no small-order or non-canonical A/R, no residue', () => {
    // A low-order residue means [S]B - [k]A - R is a non-zero small-order point: the cofactored
    // equation holds but the cofactorless one (rule step 5) does not. Everything else that passes
    // steps 1-4 is a correct signature, possibly with torsion components in A or R.
    const refused = ['low_order_A', 'low_order_R', 'non_canonical_A', 'non_canonical_R', 'low_order_residue'];
    const expected = cctv.filter((c) => !(c.flags ?? []).some((flag) => refused.includes(flag))).map((c) => c.number);
    expect(answers.filter((a) => a.native).map((a) => a.c.number)).toEqual(expected);
    expect(accepted).toBe(43);
  });

  it('reject every small-order or non-canonical A or R (rule steps 3 and 4)', () => {
    const mustReject = ['low_order_A', 'low_order_R', 'non_canonical_A', 'non_canonical_R'];
    const wronglyAccepted = answers
      .filter((a) => (a.c.flags ?? []).some((flag) => mustReject.includes(flag)))
      .filter((a) => a.native || a.noble)
      .map((a) => a.c.number);
    expect(wronglyAccepted).toEqual([]);
  });

  it('accept the plain vector without edge-case flags', () => {
    const plain = answers.filter((a) => (a.c.flags ?? []).length === 0);
    expect(plain).toHaveLength(1);
    expect(plain[0]?.native).toBe(true);
    expect(plain[0]?.noble).toBe(true);
  });
});

// RFC 8032 section 7.1, TEST 1, 2 and 3.
const RFC8032 = [
  {
    name: 'TEST 1',
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    public: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3',
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    public: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
] as const;

describe.each(backendList)('RFC 8032 golden vectors with $name', (backend) => {
  it.each(RFC8032)('$name: public key, signature and verification', (vector) => {
    const secret = bytes(vector.secret);
    const message = bytes(vector.message);
    expect(hexOf(backend.publicKeyOf(secret))).toBe(vector.public);
    expect(hexOf(backend.sign(message, secret))).toBe(vector.signature);
    expect(backend.verify(bytes(vector.signature), message, bytes(vector.public))).toBe(true);
    const otherMessage = new Uint8Array([...message, 0]);
    expect(backend.verify(bytes(vector.signature), otherMessage, bytes(vector.public))).toBe(false);
  });
});

describe('the two backends sign and derive keys identically', () => {
  it('same public key and same signature for random keys and messages, each verifying with the other backend', () => {
    for (let i = 0; i < 40; i++) {
      const secret = new Uint8Array(randomBytes(32));
      const message = new Uint8Array(randomBytes(i * 7));
      const publicKey = backends.native.publicKeyOf(secret);
      expect(hexOf(backends.noble.publicKeyOf(secret))).toBe(hexOf(publicKey));
      expect(hexOf(publicKey)).toBe(hexOf(noble.getPublicKey(secret)));
      const signature = backends.native.sign(message, secret);
      expect(signature).toHaveLength(64);
      expect(hexOf(backends.noble.sign(message, secret))).toBe(hexOf(signature));
      expect(backends.native.verify(signature, message, publicKey)).toBe(true);
      expect(backends.noble.verify(signature, message, publicKey)).toBe(true);
    }
  });

  it('top-level sign and verify use the native backend', () => {
    const secret = new Uint8Array(32).fill(7);
    const message = new TextEncoder().encode('mqpay');
    const signature = sign(message, secret);
    expect(hexOf(signature)).toBe(hexOf(backends.native.sign(message, secret)));
    expect(verify(signature, message, backends.native.publicKeyOf(secret))).toBe(true);
    expect(verify(signature, new TextEncoder().encode('mqpaY'), backends.native.publicKeyOf(secret))).toBe(false);
  });
});

describe.each(backendList)('length checks with $name', (backend) => {
  const secret = new Uint8Array(32).fill(1);
  const publicKey = backend.publicKeyOf(secret);
  const message = new Uint8Array([1, 2, 3]);
  const signature = backend.sign(message, secret);

  function codeOf(run: () => unknown): string | undefined {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(MqpayError);
      return (error as MqpayError).code;
    }
    return undefined;
  }

  it.each([0, 31, 33, 64])('refuses a secret key of %i bytes', (length) => {
    expect(codeOf(() => backend.sign(message, new Uint8Array(length)))).toBe('KEY_INVALID');
    expect(codeOf(() => backend.publicKeyOf(new Uint8Array(length)))).toBe('KEY_INVALID');
  });

  it.each([0, 32, 63, 65, 128])('throws on a signature of %i bytes', (length) => {
    const wrong = new Uint8Array(length);
    wrong.set(signature.subarray(0, Math.min(length, 64)));
    expect(codeOf(() => backend.verify(wrong, message, publicKey))).toBe('ENCODING_INVALID');
  });

  it.each([0, 31, 33, 64])('throws on a public key of %i bytes', (length) => {
    const wrong = new Uint8Array(length);
    wrong.set(publicKey.subarray(0, Math.min(length, 32)));
    expect(codeOf(() => backend.verify(signature, message, wrong))).toBe('ENCODING_INVALID');
  });

  it('still verifies the untouched signature (the fixtures above are valid)', () => {
    expect(backend.verify(signature, message, publicKey)).toBe(true);
  });
});
