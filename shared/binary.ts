// Fixed-width big-endian writer and reader for the signed encodings. Every signed object has a
// known size, so the reader refuses any other length up front and `end()` proves nothing was
// left unread: a decoder that accepted trailing bytes would let two byte strings mean one thing.
import { MqpayError, assert } from './errors.js';

const U64_MAX = (1n << 64n) - 1n;

/**
 * Transient encodings (the broker's inbox frames: written to a socket, then dropped) are cut
 * from shared slabs instead of each getting an ArrayBuffer of its own: an ArrayBuffer costs an
 * allocation outside the JS heap and work for the GC, twice per voucher on the broker's hot path.
 * A bump allocator: a slice is never handed out twice, a full slab is left to the GC once the
 * frames cut from it are gone. A kept transient frame keeps its slab alive, hence only for frames
 * that are not kept.
 */
const SLAB_BYTES = 16_384;
let slab = new ArrayBuffer(0);
let slabOffset = 0;

function transientBytes(size_bytes: number): Uint8Array {
  if (size_bytes > SLAB_BYTES / 4) return new Uint8Array(size_bytes);
  if (slabOffset + size_bytes > slab.byteLength) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabOffset = 0;
  }
  const bytes = new Uint8Array(slab, slabOffset, size_bytes);
  slabOffset += (size_bytes + 7) & ~7; // 8-byte aligned, as a fresh ArrayBuffer is
  return bytes;
}

export class ByteWriter {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private offset = 0;

  /** `lifetime`: 'transient' for an encoding that is sent and dropped, never kept (see above). */
  constructor(size_bytes: number, lifetime: 'owned' | 'transient' = 'owned') {
    this.bytes = lifetime === 'transient' ? transientBytes(size_bytes) : new Uint8Array(size_bytes);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, size_bytes);
  }

  u8(value: number): this {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xff, 'u8 in range');
    this.view.setUint8(this.offset, value);
    this.offset += 1;
    return this;
  }

  u16(value: number): this {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xffff, 'u16 in range');
    this.view.setUint16(this.offset, value);
    this.offset += 2;
    return this;
  }

  u32(value: number): this {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff, 'u32 in range');
    this.view.setUint32(this.offset, value);
    this.offset += 4;
    return this;
  }

  u64(value: bigint): this {
    assert(typeof value === 'bigint' && value >= 0n && value <= U64_MAX, 'u64 in range');
    this.view.setBigUint64(this.offset, value);
    this.offset += 8;
    return this;
  }

  raw(value: Uint8Array, length: number): this {
    assert(value.length === length, `field of ${length} bytes`);
    this.bytes.set(value, this.offset);
    this.offset += length;
    return this;
  }

  /** ASCII text as a length byte plus a zero-padded field of `width` bytes. */
  text(value: string, width: number): this {
    assert(value.length <= width && /^[\x20-\x7e]*$/.test(value), 'printable ASCII within width');
    this.u8(value.length);
    for (let i = 0; i < width; i++) this.bytes[this.offset + i] = i < value.length ? value.charCodeAt(i) : 0;
    this.offset += width;
    return this;
  }

  finish(): Uint8Array {
    assert(this.offset === this.bytes.length, 'encoding filled exactly');
    return this.bytes;
  }
}

export class ByteReader {
  private readonly view: DataView;
  private offset = 0;

  constructor(private readonly bytes: Uint8Array, size_bytes: number, what: string) {
    if (!(bytes instanceof Uint8Array)) throw new MqpayError('ENCODING_INVALID', `${what}: not bytes`);
    if (bytes.length !== size_bytes) {
      throw new MqpayError('ENCODING_INVALID', `${what}: expected ${size_bytes} bytes, got ${bytes.length}`);
    }
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u8(): number {
    const value = this.view.getUint8(this.offset);
    this.offset += 1;
    return value;
  }

  u16(): number {
    const value = this.view.getUint16(this.offset);
    this.offset += 2;
    return value;
  }

  u32(): number {
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  u64(): bigint {
    const value = this.view.getBigUint64(this.offset);
    this.offset += 8;
    return value;
  }

  raw(length: number): Uint8Array {
    // A plain Uint8Array copy: on a Buffer (as MQTT payloads arrive), `slice` returns a view that
    // would alias the caller's bytes, so a decoded field could change after it was checked.
    const value = new Uint8Array(this.bytes.subarray(this.offset, this.offset + length));
    this.offset += length;
    return value;
  }

  /** Reads a `text` field; padding must be zero so each string has exactly one encoding. */
  text(width: number, what: string): string {
    const length = this.u8();
    if (length > width) throw new MqpayError('ENCODING_INVALID', `${what}: length ${length} > ${width}`);
    let value = '';
    for (let i = 0; i < width; i++) {
      const byte = this.bytes[this.offset + i] as number;
      if (i < length) {
        if (byte < 0x20 || byte > 0x7e) throw new MqpayError('ENCODING_INVALID', `${what}: not printable ASCII`);
        value += String.fromCharCode(byte);
      } else if (byte !== 0) {
        throw new MqpayError('ENCODING_INVALID', `${what}: non-zero padding`);
      }
    }
    this.offset += width;
    return value;
  }

  /** Checks the domain tag and version that open every signed encoding. */
  header(tag: Uint8Array, version: number, what: string): void {
    for (let i = 0; i < tag.length; i++) {
      if (this.u8() !== tag[i]) throw new MqpayError('ENCODING_INVALID', `${what}: wrong domain tag`);
    }
    const found = this.u8();
    if (found !== version) throw new MqpayError('ENCODING_INVALID', `${what}: unsupported version ${found}`);
  }

  end(what: string): void {
    if (this.offset !== this.bytes.length) throw new MqpayError('ENCODING_INVALID', `${what}: trailing bytes`);
  }
}

/** Domain tags: 8 ASCII bytes naming the object, so a signature over one kind never verifies as another. */
export function domainTag(name: string): Uint8Array {
  assert(name.length === 8 && /^[A-Z0-9-]+$/.test(name), 'domain tag of 8 upper-case bytes');
  return Uint8Array.from(name, (c) => c.charCodeAt(0));
}
