// Hex <-> bytes for the JSON envelope. Strict: lower or upper case, even length, exact size.
import { MqpayError } from './errors.js';

const HEX_PATTERN = /^(?:[0-9a-fA-F]{2})*$/;

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

/** Decodes hex; `bytes` pins the expected length so a short or long value is an error. */
export function fromHex(text: string, bytes?: number): Uint8Array {
  if (typeof text !== 'string' || !HEX_PATTERN.test(text)) {
    throw new MqpayError('ENCODING_INVALID', 'not hex');
  }
  if (bytes !== undefined && text.length !== bytes * 2) {
    throw new MqpayError('ENCODING_INVALID', `expected ${bytes} bytes of hex, got ${text.length / 2}`);
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}
