// The TLS client certificate a device was enrolled with (`mqpay device add --cert-sha256`). Only
// consulted with mutual TLS on: a device with a recorded fingerprint must present exactly that
// certificate, so a second certificate the CA issued for the same name is not enough.
import { MqpayError } from '../../../shared/errors.js';
import { statement } from '../../../sqlite/statement.js';
import type { Db } from './open-database.js';

/** "AB:CD:…" (as openssl and Node print it) or plain hex, to 64 lower-case hex characters. */
export function normalCertificateSha256(text: string): string {
  const hex = text.replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new MqpayError('MESSAGE_INVALID', 'certificate SHA-256 must be 64 hex digits (colons allowed)');
  return hex;
}

/** Records (or replaces: a renewed certificate) the device's certificate fingerprint. */
export function recordDeviceCertificate(db: Db, device: string, sha256: string): void {
  statement(db, 'INSERT INTO device_certificates (device, sha256) VALUES (?, ?) ON CONFLICT (device) DO UPDATE SET sha256 = excluded.sha256').run(device, normalCertificateSha256(sha256));
}

export function recordedDeviceCertificate(db: Db, device: string): string | null {
  const row = statement(db, 'SELECT sha256 FROM device_certificates WHERE device = ?').get(device) as { sha256: string } | undefined;
  return row === undefined ? null : row.sha256;
}
