// Signing and verification: two backends behind one rule (see signature-rule.ts).
// `native` is node:crypto (OpenSSL), about 16x faster; `noble` is @noble/ed25519, portable.
// Both take the 32-byte seed as the secret key and produce identical RFC 8032 signatures.
// Wrong key or seed lengths throw; a bad signature returns false (noble style).
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import * as noble from '@noble/ed25519';
import { MqpayError } from './errors.js';
import { PUBLIC_KEY_BYTES, PUBLIC_KEY_CACHE_ENTRIES_MAX, SECRET_KEY_BYTES } from './limits.js';
import { CURVE_ORDER, passesEncodingRule } from './signature-rule.js';
import { bytesEqual, toHex } from './hex.js';

export interface SignatureBackend {
  readonly name: 'native' | 'noble';
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  publicKeyOf(secretKey: Uint8Array): Uint8Array;
}

// noble's synchronous API needs a SHA-512; node:crypto's is correct and fast.
noble.hashes.sha512 = (message: Uint8Array) => sha512(message);

function sha512(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const hash = createHash('sha512');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

function checkSecretKey(secretKey: Uint8Array): void {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== SECRET_KEY_BYTES) {
    throw new MqpayError('KEY_INVALID', `secret key must be ${SECRET_KEY_BYTES} bytes`);
  }
}

function checkMessage(message: Uint8Array): void {
  if (!(message instanceof Uint8Array)) throw new MqpayError('ENCODING_INVALID', 'message must be bytes');
}

// DER wrappers that turn a raw seed or point into the KeyObjects node:crypto wants
// (RFC 8410: PKCS#8 for the private seed, SubjectPublicKeyInfo for the public point).
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

function derOf(prefix: Uint8Array, key: Uint8Array): Buffer {
  const der = Buffer.alloc(prefix.length + key.length);
  der.set(prefix, 0);
  der.set(key, prefix.length);
  return der;
}

/** The SubjectPublicKeyInfo DER of a raw ed25519 public key, as node:crypto imports it. */
export function publicKeySpki(publicKey: Uint8Array): Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) throw new MqpayError('ENCODING_INVALID', `public key must be ${PUBLIC_KEY_BYTES} bytes`);
  return new Uint8Array(derOf(SPKI_PREFIX, publicKey));
}

// Decoding a public key costs more than a verify's hashing; devices reuse a handful of keys,
// so keep the decoded ones in a bounded map (insertion order doubles as eviction order).
const publicKeyObjects = new Map<string, KeyObject>();

/**
 * The imported node:crypto key of a raw public key, once per key: the verify pool shares this
 * same object with its worker threads (a KeyObject crosses `postMessage` without re-import).
 */
export function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = toHex(publicKey);
  let key = publicKeyObjects.get(id);
  if (key === undefined) {
    key = createPublicKey({ key: derOf(SPKI_PREFIX, publicKey), format: 'der', type: 'spki' });
    if (publicKeyObjects.size >= PUBLIC_KEY_CACHE_ENTRIES_MAX) {
      const oldest = publicKeyObjects.keys().next().value;
      if (oldest !== undefined) publicKeyObjects.delete(oldest);
    }
    publicKeyObjects.set(id, key);
  }
  return key;
}

/** Drops a key from the cache (a device rotated away from it): it is imported afresh if seen again. */
export function forgetPublicKey(publicKey: Uint8Array): void {
  publicKeyObjects.delete(toHex(publicKey));
}

// Building a private KeyObject costs more than the signature itself. A device signs with the
// same key array over and over, so keep one per array, keyed by identity (WeakMap): the secret
// is never copied into a string and the entry goes when the array does.
const privateKeyObjects = new WeakMap<Uint8Array, KeyObject>();

function privateKeyObject(secretKey: Uint8Array): KeyObject {
  checkSecretKey(secretKey);
  let key = privateKeyObjects.get(secretKey);
  if (key === undefined) {
    key = createPrivateKey({ key: derOf(PKCS8_PREFIX, secretKey), format: 'der', type: 'pkcs8' });
    privateKeyObjects.set(secretKey, key);
  }
  return key;
}

const native: SignatureBackend = {
  name: 'native',
  sign(message, secretKey) {
    checkMessage(message);
    return new Uint8Array(nodeSign(null, message, privateKeyObject(secretKey)));
  },
  verify(signature, message, publicKey) {
    checkMessage(message);
    if (!passesEncodingRule(signature, publicKey)) return false;
    try {
      return nodeVerify(null, message, publicKeyObject(publicKey), signature);
    } catch {
      return false; // a point not on the curve: OpenSSL refuses to decode it
    }
  },
  publicKeyOf(secretKey) {
    const spki = createPublicKey(privateKeyObject(secretKey)).export({ format: 'der', type: 'spki' });
    return new Uint8Array(spki.subarray(spki.length - PUBLIC_KEY_BYTES));
  },
};

function scalarOfHash(hash: Uint8Array): bigint {
  let value = 0n;
  for (let i = hash.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(hash[i] as number);
  return value % CURVE_ORDER;
}

/** Step 5 of the rule with noble's arithmetic: encode([S]B - [k]A) must equal R. */
function nobleCofactorless(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  let A: noble.Point;
  try {
    A = noble.Point.fromBytes(publicKey, false);
  } catch {
    return false; // not on the curve
  }
  const r = signature.subarray(0, 32);
  const s = scalarOfHash(signature.subarray(32, 64)); // already < L by the encoding rule
  const k = scalarOfHash(sha512(r, publicKey, message));
  const recomputed = noble.Point.BASE.multiplyUnsafe(s).subtract(A.multiplyUnsafe(k));
  return bytesEqual(recomputed.toBytes(), r);
}

const nobleBackend: SignatureBackend = {
  name: 'noble',
  sign(message, secretKey) {
    checkMessage(message);
    checkSecretKey(secretKey);
    return noble.sign(message, secretKey);
  },
  verify(signature, message, publicKey) {
    checkMessage(message);
    if (!passesEncodingRule(signature, publicKey)) return false;
    return nobleCofactorless(signature, message, publicKey);
  },
  publicKeyOf(secretKey) {
    checkSecretKey(secretKey);
    return noble.getPublicKey(secretKey);
  },
};

export const backends = Object.freeze({ native, noble: nobleBackend });
export type BackendName = keyof typeof backends;

/** The default backend: the fast one. */
export const defaultBackend: SignatureBackend = native;

export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  return defaultBackend.verify(signature, message, publicKey);
}

export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return defaultBackend.sign(message, secretKey);
}

export { sha512 };
