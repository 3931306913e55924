// Key rotation request: a device asks the service to replace its public key. It is signed twice
// over the same bytes: by the current key (the device's authority to rotate) and by the new key
// (proof that the device holds the new secret, so nobody can rotate a device onto a key they do
// not own). It names the current key, so once the rotation is done the same bytes can never apply
// again (the current key has changed); its time bounds how long it may wait before it is used.
// Layout (114 bytes):
//   tag "MQPAY-KR" (8) | version (1) | device id (1+32) | current key (32) | new key (32)
//   | time u64 (unix ms)
import { ByteReader, ByteWriter, domainTag } from './binary.js';
import { checkDeviceId } from './ids.js';
import { DEVICE_ID_LENGTH_MAX, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from './limits.js';

export const KEY_ROTATION_TAG = domainTag('MQPAY-KR');
export const KEY_ROTATION_VERSION = 1;
export const KEY_ROTATION_BYTES = 8 + 1 + (1 + DEVICE_ID_LENGTH_MAX) + 2 * PUBLIC_KEY_BYTES + 8;

export interface KeyRotation {
  readonly device: string;
  readonly currentKey: Uint8Array;
  readonly newKey: Uint8Array;
  readonly timeMs: bigint;
}

export function encodeKeyRotation(rotation: KeyRotation): Uint8Array {
  return new ByteWriter(KEY_ROTATION_BYTES)
    .raw(KEY_ROTATION_TAG, 8)
    .u8(KEY_ROTATION_VERSION)
    .text(checkDeviceId(rotation.device), DEVICE_ID_LENGTH_MAX)
    .raw(rotation.currentKey, PUBLIC_KEY_BYTES)
    .raw(rotation.newKey, PUBLIC_KEY_BYTES)
    .u64(rotation.timeMs)
    .finish();
}

export function decodeKeyRotation(bytes: Uint8Array): KeyRotation {
  const reader = new ByteReader(bytes, KEY_ROTATION_BYTES, 'key rotation');
  reader.header(KEY_ROTATION_TAG, KEY_ROTATION_VERSION, 'key rotation');
  const device = checkDeviceId(reader.text(DEVICE_ID_LENGTH_MAX, 'key rotation device'));
  const currentKey = reader.raw(PUBLIC_KEY_BYTES);
  const newKey = reader.raw(PUBLIC_KEY_BYTES);
  const timeMs = reader.u64();
  reader.end('key rotation');
  return { device, currentKey, newKey, timeMs };
}

/** A signed rotation request: the bytes, the current key's signature and the new key's. */
export interface SignedKeyRotation {
  readonly bytes: Uint8Array;
  readonly signature: Uint8Array;
  readonly newSignature: Uint8Array;
}

/** Builds and signs a rotation from the current secret key to the new one. */
export function signKeyRotation(input: {
  device: string; timeMs: number; current: { secretKey: Uint8Array; publicKey: Uint8Array }; next: { secretKey: Uint8Array; publicKey: Uint8Array };
  sign: (message: Uint8Array, secretKey: Uint8Array) => Uint8Array;
}): SignedKeyRotation {
  const bytes = encodeKeyRotation({ device: input.device, currentKey: input.current.publicKey, newKey: input.next.publicKey, timeMs: BigInt(input.timeMs) });
  const signature = input.sign(bytes, input.current.secretKey);
  const newSignature = input.sign(bytes, input.next.secretKey);
  if (signature.length !== SIGNATURE_BYTES || newSignature.length !== SIGNATURE_BYTES) throw new Error('signatures of the wrong length');
  return { bytes, signature, newSignature };
}
