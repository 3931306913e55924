// Channel certificate: signed by the settlement service when a channel opens (and again, with a
// higher revision, on each top-up). It lets a payee check vouchers offline: the payer's key, the
// deposit that caps the total, and the expiry. Layout (191 bytes):
//   tag "MQPAY-CC" (8) | version (1) | channel id (32) | payer id (1+32) | payer key (32)
//   | payee id (1+32) | payee key (32) | deposit u64 | expires at u64 (unix s) | revision u32
import { amountOf, type Amount } from './amount.js';
import { ByteReader, ByteWriter, domainTag } from './binary.js';
import { checkDeviceId } from './ids.js';
import { CHANNEL_ID_BYTES, DEVICE_ID_LENGTH_MAX, PUBLIC_KEY_BYTES } from './limits.js';

export const CERTIFICATE_TAG = domainTag('MQPAY-CC');
export const CERTIFICATE_VERSION = 1;
const ID_FIELD_BYTES = 1 + DEVICE_ID_LENGTH_MAX;
export const CERTIFICATE_BYTES = 8 + 1 + CHANNEL_ID_BYTES + 2 * (ID_FIELD_BYTES + PUBLIC_KEY_BYTES) + 8 + 8 + 4;

export interface ChannelCertificate {
  readonly channelId: Uint8Array;
  readonly payer: string;
  readonly payerKey: Uint8Array;
  readonly payee: string;
  readonly payeeKey: Uint8Array;
  readonly deposit: Amount;
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
    .u64(certificate.expiresAtSeconds)
    .u32(certificate.revision)
    .finish();
}

export function decodeCertificate(bytes: Uint8Array): ChannelCertificate {
  const reader = new ByteReader(bytes, CERTIFICATE_BYTES, 'certificate');
  reader.header(CERTIFICATE_TAG, CERTIFICATE_VERSION, 'certificate');
  const channelId = reader.raw(CHANNEL_ID_BYTES);
  const payer = checkDeviceId(reader.text(DEVICE_ID_LENGTH_MAX, 'certificate payer'));
  const payerKey = reader.raw(PUBLIC_KEY_BYTES);
  const payee = checkDeviceId(reader.text(DEVICE_ID_LENGTH_MAX, 'certificate payee'));
  const payeeKey = reader.raw(PUBLIC_KEY_BYTES);
  const deposit = amountOf(reader.u64());
  const expiresAtSeconds = reader.u64();
  const revision = reader.u32();
  reader.end('certificate');
  return { channelId, payer, payerKey, payee, payeeKey, deposit, expiresAtSeconds, revision };
}
