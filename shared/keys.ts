// Key generation, encoding and the enrolment check. A device's secret key is its 32-byte seed;
// the public key is enrolled with the service, which refuses anything that is not a canonical
// encoding of a point in the prime-order subgroup (no small order, no torsion component): such
// keys let one signature verify for more than one message or key.
import * as noble from '@noble/ed25519';
import { defaultBackend } from './crypto.js';
import { MqpayError } from './errors.js';
import { fromHex, toHex } from './hex.js';
import type { RandomBytes } from './ids.js';
import { PUBLIC_KEY_BYTES, SECRET_KEY_BYTES } from './limits.js';
import { isCanonicalPoint, isSmallOrderEncoding } from './signature-rule.js';

export interface KeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export function generateKeyPair(random: RandomBytes): KeyPair {
  const secretKey = random(SECRET_KEY_BYTES);
  if (secretKey.length !== SECRET_KEY_BYTES) throw new Error('random source returned the wrong length');
  return { secretKey, publicKey: defaultBackend.publicKeyOf(secretKey) };
}

/** Why a public key is refused at enrolment, or null when it is acceptable. */
export function publicKeyProblem(publicKey: Uint8Array): string | null {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) return 'not 32 bytes';
  if (!isCanonicalPoint(publicKey)) return 'non-canonical encoding';
  if (isSmallOrderEncoding(publicKey)) return 'small-order point';
  let point: noble.Point;
  try {
    point = noble.Point.fromBytes(publicKey, false);
  } catch {
    return 'not a point on the curve';
  }
  if (!point.isTorsionFree()) return 'has a low-order component';
  return null;
}

/** The enrolment check: returns the key or throws KEY_INVALID with the reason. */
export function checkPublicKey(publicKey: Uint8Array): Uint8Array {
  const problem = publicKeyProblem(publicKey);
  if (problem !== null) throw new MqpayError('KEY_INVALID', problem);
  return publicKey;
}

export function publicKeyFromHex(text: string): Uint8Array {
  if (typeof text !== 'string' || text.length !== PUBLIC_KEY_BYTES * 2) {
    throw new MqpayError('KEY_INVALID', `public key must be ${PUBLIC_KEY_BYTES * 2} hex characters`);
  }
  return checkPublicKey(fromHex(text, PUBLIC_KEY_BYTES));
}

export const publicKeyToHex = (publicKey: Uint8Array): string => toHex(publicKey);
