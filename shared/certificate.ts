// Channel certificate: signed by the settlement service when a channel opens (and again, with a
// higher revision, on each top-up). It lets a payee check vouchers offline: the payer's key, the
// deposit that caps the total, the ledger's currency, and the expiry. Layout (194 bytes, version 2):
//   tag "MQPAY-CC" (8) | version (1) | channel id (32) | payer id (1+32) | payer key (32)
//   | payee id (1+32) | payee key (32) | deposit u64 | currency (3, ISO 4217 code, ASCII A-Z)
//   | expires at u64 (unix s) | revision u32
// Version 1 (191 bytes, no currency) is refused: a device must know what the deposit counts.
import { amountOf, type Amount } from './amount.js';
import { ByteReader, ByteWriter, domainTag } from './binary.js';
import { checkCurrencyCode } from './currency.js';
import { assert, MqpayError } from './errors.js';
import { checkDeviceId } from './ids.js';
import { CHANNEL_ID_BYTES, DEVICE_ID_LENGTH_MAX, PUBLIC_KEY_BYTES } from './limits.js';

export const CERTIFICATE_TAG = domainTag('MQPAY-CC');
export const CERTIFICATE_VERSION = 2 as const;
const CURRENCY_BYTES = 3;
const ID_FIELD_BYTES = 1 + DEVICE_ID_LENGTH_MAX;
export const CERTIFICATE_BYTES = 8 + 1 + CHANNEL_ID_BYTES + 2 * (ID_FIELD_BYTES + PUBLIC_KEY_BYTES) + 8 + CURRENCY_BYTES + 8 + 4;

export interface ChannelCertificate {
  readonly channelId: Uint8Array;
  readonly payer: string;
  readonly payerKey: Uint8Array;
  readonly payee: string;
  readonly payeeKey: Uint8Array;
  readonly deposit: Amount;
  /** The ledger's currency, ISO 4217 (the deposit and every voucher total count its micro-units). */
  readonly currency: string;
  readonly expiresAtSeconds: bigint;
  readonly revision: number;
}

export function encodeCertificate(certificate: ChannelCertificate): Uint8Array {
  return new ByteWriter(CERTIFICATE_BYTES)
    .raw(CERTIFICATE_TAG, 8)
    .u8(CERTIFICATE_VERSION)
    .raw(certificate.channelId, CHANNEL_ID_BYTES)
    .text(checkDeviceId(certificate.payer), DEVICE_ID_LENGTH_MAX)
    .raw(certificate.payerKey, PUBLIC_KEY_BYTES)
    .text(checkDeviceId(certificate.payee), DEVICE_ID_LENGTH_MAX)
    .raw(certificate.payeeKey, PUBLIC_KEY_BYTES)
    .u64(amountOf(certificate.deposit))
    .raw(new TextEncoder().encode(checkCurrencyCode(certificate.currency)), CURRENCY_BYTES)
    .u64(certificate.expiresAtSeconds)
    .u32(certificate.revision)
    .finish();
}

/** The layout before v3 (no currency), 191 bytes: read only from a ledger's own stored evidence. */
const CERTIFICATE_V1_BYTES = CERTIFICATE_BYTES - CURRENCY_BYTES;

/** A certificate as a ledger stored it: `currency` is null for one issued before v3. */
export type StoredCertificate = Omit<ChannelCertificate, 'currency'> & { readonly currency: string | null };

/** Reads either layout: version 1 (no currency: null) or version 2; every other length or version throws. */
function readCertificate(bytes: Uint8Array, layout: 1 | 2): StoredCertificate {
  const reader = new ByteReader(bytes, layout === 2 ? CERTIFICATE_BYTES : CERTIFICATE_V1_BYTES, 'certificate');
  reader.header(CERTIFICATE_TAG, layout, 'certificate');
  const channelId = reader.raw(CHANNEL_ID_BYTES);
  const payer = checkDeviceId(reader.text(DEVICE_ID_LENGTH_MAX, 'certificate payer'));
  const payerKey = reader.raw(PUBLIC_KEY_BYTES);
  const payee = checkDeviceId(reader.text(DEVICE_ID_LENGTH_MAX, 'certificate payee'));
  const payeeKey = reader.raw(PUBLIC_KEY_BYTES);
  const deposit = amountOf(reader.u64());
  const currency = layout === 2 ? currencyOf(reader.raw(CURRENCY_BYTES)) : null;
  const expiresAtSeconds = reader.u64();
  const revision = reader.u32();
  reader.end('certificate');
  return { channelId, payer, payerKey, payee, payeeKey, deposit, currency, expiresAtSeconds, revision };
}

/**
 * A certificate a ledger stored: version 2, or version 1 if it was issued before the ledger's
 * upgrade (the evidence of older channels must still verify [docs/DESIGN.md rule 11], and a
 * re-issue keeps their terms). Strict like decodeCertificate; never for what arrives on the wire.
 */
export function decodeStoredCertificate(bytes: Uint8Array): StoredCertificate {
  return bytes.length === CERTIFICATE_V1_BYTES ? readCertificate(bytes, 1) : decodeCertificate(bytes);
}

/** What a device accepts: layout version 2 only (a version 1 certificate names no currency). */
export function decodeCertificate(bytes: Uint8Array): ChannelCertificate {
  const certificate = readCertificate(bytes, CERTIFICATE_VERSION);
  assert(certificate.currency !== null, 'a version 2 certificate names its currency');
  return { ...certificate, currency: certificate.currency };
}

/** Three bytes A-Z, else CURRENCY_INVALID (checked byte by byte: no decoder leniency). */
function currencyOf(bytes: Uint8Array): string {
  for (const byte of bytes) if (byte < 0x41 || byte > 0x5a) throw new MqpayError('CURRENCY_INVALID', 'certificate currency is not three ASCII upper-case letters');
  return checkCurrencyCode(String.fromCharCode(...bytes));
}
