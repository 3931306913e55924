// RabbitMQ's HTTP auth backend POSTs application/x-www-form-urlencoded bodies. A device's password
// is binary (a 163-byte connect token and signature), which RabbitMQ sends byte for byte: every
// byte outside [A-Za-z0-9._~-] as %XX, a space as '+' (measured on 3.10.8). URLSearchParams
// decodes escapes as UTF-8 and replaces the invalid sequences, so the values are decoded here,
// as bytes. Strict: a bad escape, a repeated or empty name is an error, not a guess.

const HEX = /^[0-9A-Fa-f]{2}$/;
const SPACE = 0x20;
const PLUS = 0x2b;
const PERCENT = 0x25;

function decodeComponent(text: Uint8Array): Uint8Array {
  const out = new Uint8Array(text.length);
  let length = 0;
  for (let index = 0; index < text.length; index += 1) {
    const byte = text[index]!;
    if (byte === PLUS) {
      out[length++] = SPACE;
    } else if (byte === PERCENT) {
      const hex = Buffer.from(text.subarray(index + 1, index + 3)).toString('latin1');
      if (!HEX.test(hex)) throw new Error(`bad percent escape at byte ${index}`);
      out[length++] = Number.parseInt(hex, 16);
      index += 2;
    } else {
      out[length++] = byte;
    }
  }
  return out.slice(0, length);
}

function* fields(body: Uint8Array): Generator<Uint8Array> {
  let start = 0;
  for (let index = 0; index <= body.length; index += 1) {
    if (index === body.length || body[index] === 0x26 /* & */) {
      if (index > start) yield body.subarray(start, index);
      start = index + 1;
    }
  }
}

/** The body's fields, values as raw bytes. */
export function parseFormBody(body: Uint8Array): Map<string, Uint8Array> {
  const result = new Map<string, Uint8Array>();
  for (const field of fields(body)) {
    const equals = field.indexOf(0x3d /* = */);
    const name = Buffer.from(decodeComponent(equals < 0 ? field : field.subarray(0, equals))).toString('utf8');
    const value = equals < 0 ? new Uint8Array(0) : decodeComponent(field.subarray(equals + 1));
    if (name.length === 0 || result.has(name)) throw new Error(`form field ${JSON.stringify(name)} is empty or repeated`);
    result.set(name, value);
  }
  return result;
}

/** A field as text (UTF-8), or undefined when absent. */
export function textField(form: ReadonlyMap<string, Uint8Array>, name: string): string | undefined {
  const value = form.get(name);
  return value === undefined ? undefined : Buffer.from(value).toString('utf8');
}
