// Connect token: the MQTT CONNECT password. Signed by the device; names the device and the broker
// it is for, the device's time and a random nonce (so no two tokens are alike). The service
// accepts it only within CONNECT_TOKEN_AGE_MS_MAX of its own clock and only if its time is later
// than the device's last accepted token (kept in SQLite, so replays fail across restarts too).
// Layout (99 bytes):
//   tag "MQPAY-CT" (8) | version (1) | device id (1+32) | broker id (1+32) | time u64 (unix ms)
//   | nonce (16)
import { ByteReader, ByteWriter, domainTag } from './binary.js';
import { MqpayError } from './errors.js';
import { checkDeviceId } from './ids.js';
import { BROKER_ID_LENGTH_MAX, CONNECT_NONCE_BYTES, DEVICE_ID_LENGTH_MAX } from './limits.js';

export const CONNECT_TOKEN_TAG = domainTag('MQPAY-CT');
export const CONNECT_TOKEN_VERSION = 1;
export const CONNECT_TOKEN_BYTES = 8 + 1 + (1 + DEVICE_ID_LENGTH_MAX) + (1 + BROKER_ID_LENGTH_MAX) + 8 + CONNECT_NONCE_BYTES;

export interface ConnectToken {
  readonly device: string;
  readonly broker: string;
  readonly timeMs: bigint;
  readonly nonce: Uint8Array;
}

const BROKER_ID_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,31}$/;

export function checkBrokerId(value: string): string {
  if (typeof value !== 'string' || !BROKER_ID_PATTERN.test(value)) {
    throw new MqpayError('TOKEN_INVALID', `broker id ${JSON.stringify(value)} is not valid`);
  }
  return value;
}

export function encodeConnectToken(token: ConnectToken): Uint8Array {
  return new ByteWriter(CONNECT_TOKEN_BYTES)
    .raw(CONNECT_TOKEN_TAG, 8)
    .u8(CONNECT_TOKEN_VERSION)
    .text(checkDeviceId(token.device), DEVICE_ID_LENGTH_MAX)
    .text(checkBrokerId(token.broker), BROKER_ID_LENGTH_MAX)
    .u64(token.timeMs)
    .raw(token.nonce, CONNECT_NONCE_BYTES)
    .finish();
}

export function decodeConnectToken(bytes: Uint8Array): ConnectToken {
  const reader = new ByteReader(bytes, CONNECT_TOKEN_BYTES, 'connect token');
  reader.header(CONNECT_TOKEN_TAG, CONNECT_TOKEN_VERSION, 'connect token');
  const device = checkDeviceId(reader.text(DEVICE_ID_LENGTH_MAX, 'connect token device'));
  const broker = checkBrokerId(reader.text(BROKER_ID_LENGTH_MAX, 'connect token broker'));
  const timeMs = reader.u64();
  const nonce = reader.raw(CONNECT_NONCE_BYTES);
  reader.end('connect token');
  return { device, broker, timeMs, nonce };
}

/** The CONNECT password: token bytes followed by the device's signature over them. */
export const CONNECT_PASSWORD_BYTES = CONNECT_TOKEN_BYTES + 64;

export function joinConnectPassword(tokenBytes: Uint8Array, signature: Uint8Array): Uint8Array {
  if (tokenBytes.length !== CONNECT_TOKEN_BYTES || signature.length !== 64) {
    throw new MqpayError('TOKEN_INVALID', 'token or signature of the wrong length');
  }
  const password = new Uint8Array(CONNECT_PASSWORD_BYTES);
  password.set(tokenBytes, 0);
  password.set(signature, CONNECT_TOKEN_BYTES);
  return password;
}

export function splitConnectPassword(password: Uint8Array): { tokenBytes: Uint8Array; signature: Uint8Array } {
  if (!(password instanceof Uint8Array) || password.length !== CONNECT_PASSWORD_BYTES) {
    throw new MqpayError('TOKEN_INVALID', `password must be ${CONNECT_PASSWORD_BYTES} bytes`);
  }
  // Plain copies: on a Buffer password, `slice` would return views aliasing the CONNECT packet.
  return {
    tokenBytes: new Uint8Array(password.subarray(0, CONNECT_TOKEN_BYTES)),
    signature: new Uint8Array(password.subarray(CONNECT_TOKEN_BYTES)),
  };
}

/** Builds a fresh CONNECT password for a device: a new token signed with the device's key. */
export function signConnectPassword(input: { device: string; broker: string; timeMs: number; nonce: Uint8Array; secretKey: Uint8Array; sign: (message: Uint8Array, secretKey: Uint8Array) => Uint8Array }): Uint8Array {
  const tokenBytes = encodeConnectToken({ device: input.device, broker: input.broker, timeMs: BigInt(input.timeMs), nonce: input.nonce });
  return joinConnectPassword(tokenBytes, input.sign(tokenBytes, input.secretKey));
}
