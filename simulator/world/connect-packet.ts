// Reads the client id out of the first bytes of an MQTT 3.1.1 connection (the CONNECT packet),
// so the fault proxy knows which device a TCP connection belongs to.

/** A CONNECT larger than this is not from an mqpay device; the proxy stops looking. */
export const CONNECT_SNIFF_BYTES_MAX = 1_024;

export type SniffResult = { readonly kind: 'more' } | { readonly kind: 'found'; readonly clientId: string } | { readonly kind: 'unknown' };

const CONNECT = 0x10;

function remainingLength(bytes: Uint8Array): { value: number; size: number } | null {
  let value = 0;
  for (let i = 0; i < 4; i++) {
    const byte = bytes[1 + i];
    if (byte === undefined) return null;
    value += (byte & 0x7f) * 128 ** i;
    if ((byte & 0x80) === 0) return { value, size: i + 1 };
  }
  return { value: -1, size: 4 };
}

const u16 = (bytes: Uint8Array, at: number): number | null => {
  const high = bytes[at];
  const low = bytes[at + 1];
  return high === undefined || low === undefined ? null : (high << 8) | low;
};

/** Looks for the client id in the bytes received so far. */
export function sniffClientId(bytes: Uint8Array): SniffResult {
  if (bytes.length === 0) return { kind: 'more' };
  if (bytes[0] !== CONNECT || bytes.length > CONNECT_SNIFF_BYTES_MAX) return { kind: 'unknown' };
  const length = remainingLength(bytes);
  if (length === null) return { kind: 'more' };
  if (length.value < 0) return { kind: 'unknown' };
  const header = 1 + length.size;
  const nameLength = u16(bytes, header);
  if (nameLength === null) return { kind: 'more' };
  // protocol name, level (1), flags (1), keep-alive (2), then the client id's length
  const idAt = header + 2 + nameLength + 4;
  const idLength = u16(bytes, idAt);
  if (idLength === null || bytes.length < idAt + 2 + idLength) return { kind: 'more' };
  return { kind: 'found', clientId: new TextDecoder().decode(bytes.subarray(idAt + 2, idAt + 2 + idLength)) };
}
