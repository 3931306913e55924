// Hex <-> bytes for the JSON envelope. Strict: lower or upper case, even length, exact size.
// Table-driven: this runs twice per voucher on the service's hot path.
import { MqpayError } from './errors.js';

const BYTE_TO_HEX: readonly string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  NIBBLE[97 + i] = 10 + i;
  NIBBLE[65 + i] = 10 + i;
}

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += BYTE_TO_HEX[bytes[i] as number];
  return out;
}

function nibble(code: number): number {
  return code < 128 ? (NIBBLE[code] as number) : -1;
}

/** Decodes hex; `bytes` pins the expected length so a short or long value is an error. */
export function fromHex(text: string, bytes?: number): Uint8Array {
  if (typeof text !== 'string' || text.length % 2 !== 0) throw new MqpayError('ENCODING_INVALID', 'not hex');
  if (bytes !== undefined && text.length !== bytes * 2) {
    throw new MqpayError('ENCODING_INVALID', `expected ${bytes} bytes of hex, got ${text.length / 2}`);
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const high = nibble(text.charCodeAt(i * 2));
    const low = nibble(text.charCodeAt(i * 2 + 1));
    if (high < 0 || low < 0) throw new MqpayError('ENCODING_INVALID', 'not hex');
    out[i] = (high << 4) | low;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}
