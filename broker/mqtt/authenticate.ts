// CONNECT authentication of the embedded broker: aedes' hook around the shared login check
// (login-check.ts) [docs/DESIGN.md rule 8], plus mutual TLS. A connection that fails here never
// reaches aedes' session registry, so an impostor using another device's id cannot take over that
// device's session.
import type { AuthenticateError, Client } from 'aedes';
import { MqpayError, type ErrorCode } from '../../shared/errors.js';
import { checkLogin, refusal, type LoginDeps } from './login-check.js';
import { setRole } from './roles.js';
import type { PeerCertificate } from './tls-material.js';

import { CONNACK_NOT_AUTHORIZED as NOT_AUTHORIZED } from '../../shared/connack.js';

export interface AuthDeps extends LoginDeps {
  readonly onFailure: (clientId: string, code: ErrorCode, detail?: string) => void;
  /** Mutual TLS is on: a device must present a certificate from the client CA naming it (CN). */
  readonly requireClientCert: boolean;
  /** The TLS client certificate of a connection; null when it came over plain text. */
  readonly peerOf: (client: Client) => PeerCertificate | null;
  /** The certificate recorded at enrolment (64 lower-case hex), if any. */
  readonly recordedCertificateOf: (device: string) => string | null;
}

function certificateCheck(deps: AuthDeps, client: Client): (device: string) => void {
  return (device) => {
    if (!deps.requireClientCert) return;
    // The TLS layer already refused certificates from other issuers on the mqtts port; this also
    // covers plain-text and WebSocket listeners, and ties the certificate to this one device.
    const peer = deps.peerOf(client);
    if (peer === null || !peer.authorized) throw refusal('NOT_AUTHORIZED', NOT_AUTHORIZED, `device ${device} presented no client certificate from the device CA${peer?.authorizationError ? ` (${peer.authorizationError})` : ''}`);
    if (peer.subjectCn !== device) throw refusal('NOT_AUTHORIZED', NOT_AUTHORIZED, `client certificate names ${JSON.stringify(peer.subjectCn)}, not device ${device}`);
    const recorded = deps.recordedCertificateOf(device);
    const presented = peer.fingerprint256?.replace(/:/g, '').toLowerCase() ?? null;
    if (recorded !== null && presented !== recorded) throw refusal('NOT_AUTHORIZED', NOT_AUTHORIZED, `client certificate sha256 ${presented ?? 'none'} is not the one enrolled for device ${device}`);
  };
}

export function makeAuthenticate(deps: AuthDeps) {
  return (client: Client, username: string | undefined, password: Buffer | undefined, done: (error: AuthenticateError | null, success: boolean | null) => void): void => {
    checkLogin(deps, { clientId: client.id, username, password }, certificateCheck(deps, client)).then((granted) => {
      setRole(client, granted);
      done(null, true);
    }, (error: unknown) => {
      const code = error instanceof MqpayError ? error.code : 'INTERNAL';
      deps.onFailure(client.id, code, error instanceof MqpayError ? error.message : undefined);
      done(error instanceof MqpayError ? (error as unknown as AuthenticateError) : (refusal('INTERNAL', NOT_AUTHORIZED) as unknown as AuthenticateError), false);
    });
  };
}
