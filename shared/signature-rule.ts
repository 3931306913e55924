// The one ed25519 verification rule of mqpay, checked on bytes before either backend runs.
//
// node:crypto (OpenSSL) checks the cofactorless equation and compares the recomputed R byte for
// byte; @noble/ed25519 checks the cofactored equation. Out of the box they disagree on 248 of the
// 914 CCTV vectors (low-order points and components). A payee that accepts what the service
// rejects has served for nothing, so mqpay fixes one rule and both backends implement exactly it:
//   1. signature is 64 bytes, public key 32 bytes;
//   2. S is canonical: S < L (RFC 8032 5.1.7 step 1);
//   3. A and R are canonical encodings: y < p, and no "negative zero" (x = 0 with the sign bit);
//   4. neither A nor R is one of the 8 small-order points;
//   5. the cofactorless equation holds: encode([S]B - [k]A) == R byte for byte,
//      with k = SHA-512(R || A || M) mod L.
// Steps 1-4 live here; step 5 is OpenSSL's own check for `native` and is recomputed with noble's
// point arithmetic for `noble`. Mixed-order keys (a torsion component) are refused at enrolment
// by `checkPublicKey`, not here: here both backends give the same answer for them anyway.
import { MqpayError } from './errors.js';
import { fromHex } from './hex.js';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from './limits.js';

/** The prime order of the ed25519 base point. */
export const CURVE_ORDER = (1n << 252n) + 27742317777372353535851937790883648493n;

// The canonical encodings of the 8 points of order dividing 8. Any other encoding of them is
// non-canonical and already refused by `isCanonicalPoint`.
const SMALL_ORDER_POINTS_HEX = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '0000000000000000000000000000000000000000000000000000000000000000',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
];
const SMALL_ORDER_POINTS = SMALL_ORDER_POINTS_HEX.map((hex) => fromHex(hex, 32));

/** Whether `a` equals the first 32 bytes of `b`, stopping at the first difference (public data). */
function samePoint(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Keys and R values are public, so the comparison needs no constant time: it runs on every
// verification, and most points differ from each small-order one in the first byte.
export function isSmallOrderEncoding(point: Uint8Array): boolean {
  if (point.length !== 32) return false;
  for (const small of SMALL_ORDER_POINTS) if (samePoint(small, point)) return true;
  return false;
}

// Little-endian byte comparisons, not bigints: these run on every verification.
const CURVE_ORDER_BYTES = fromHex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 32);

/** a < b for two 32-byte little-endian numbers. */
function lessThan(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (x !== y) return x < y;
  }
  return false;
}

/** y < p and not (x = 0 with the sign bit set); x = 0 happens only for y = 1 and y = p - 1. */
export function isCanonicalPoint(point: Uint8Array): boolean {
  if (point.length !== PUBLIC_KEY_BYTES) return false;
  const last = point[31] as number;
  // y >= p = 2^255 - 19 only when y's top 247 bits are all ones and its low byte is >= 0xed.
  let allOnes = (last & 0x7f) === 0x7f;
  for (let i = 1; allOnes && i < 31; i++) allOnes = point[i] === 0xff;
  const low = point[0] as number;
  if (allOnes && low >= 0xed) return false;
  if (last >> 7 === 1) {
    const yIsOne = low === 1 && (last & 0x7f) === 0 && point.subarray(1, 31).every((byte) => byte === 0);
    const yIsMinusOne = allOnes && low === 0xec;
    if (yIsOne || yIsMinusOne) return false;
  }
  return true;
}

export function isCanonicalScalar(scalar: Uint8Array): boolean {
  return scalar.length === 32 && lessThan(scalar, CURVE_ORDER_BYTES);
}

/**
 * Steps 1-4 of the rule: what must hold of the bytes before any curve arithmetic.
 * Wrong lengths are a caller's bug and throw; a malformed value of the right length is `false`.
 */
export function passesEncodingRule(signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) {
    throw new MqpayError('ENCODING_INVALID', `signature must be ${SIGNATURE_BYTES} bytes`);
  }
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) {
    throw new MqpayError('ENCODING_INVALID', `public key must be ${PUBLIC_KEY_BYTES} bytes`);
  }
  const r = signature.subarray(0, 32);
  if (!isCanonicalScalar(signature.subarray(32, 64))) return false;
  if (!isCanonicalPoint(publicKey) || isSmallOrderEncoding(publicKey)) return false;
  if (!isCanonicalPoint(r) || isSmallOrderEncoding(r)) return false;
  return true;
}
