// CONNECT authentication [docs/DESIGN.md rule 8]. A device sends username = its id, clientId = its
// id, password = a signed, time-stamped connect token, each later than the last one accepted. A
// connection that fails here never reaches aedes' session registry, so an impostor using another
// device's id cannot take over that device's session. Operators send username "operator" and the
// operator token, with a clientId that is not a device id (so they can never take over a device's
// session either).
import type { AuthenticateError, Client } from 'aedes';
import { CONNECT_TOKEN_AGE_MS_MAX } from '../../shared/limits.js';
import { verify } from '../../shared/crypto.js';
import { decodeConnectToken, splitConnectPassword } from '../../shared/connect-token.js';
import { MqpayError, type ErrorCode } from '../../shared/errors.js';
import { isDeviceId } from '../../shared/ids.js';
import { tokenMatches } from '../operator/operator-token.js';
import type { SettlementService } from '../service/service.js';
import type { Clock } from '../service/ports.js';
import { OPERATOR_USERNAME, setRole, type Role } from './roles.js';
import type { PeerCertificate } from './tls-material.js';

import {
  CONNACK_BAD_USERNAME_OR_PASSWORD as BAD_USERNAME_OR_PASSWORD, CONNACK_IDENTIFIER_REJECTED as IDENTIFIER_REJECTED, CONNACK_NOT_AUTHORIZED as NOT_AUTHORIZED,
} from '../../shared/connack.js';

export interface AuthDeps {
  /** Reads the device and records its token time through the service's unit of work. */
  readonly service: Pick<SettlementService, 'acceptConnectToken' | 'device' | 'signedByRetiredKey'>;
  readonly clock: Clock;
  readonly brokerId: string;
  readonly operatorToken: string;
  readonly onFailure: (clientId: string, code: ErrorCode, detail?: string) => void;
  /** Mutual TLS is on: a device must present a certificate from the client CA naming it (CN). */
  readonly requireClientCert: boolean;
  /** The TLS client certificate of a connection; null when it came over plain text. */
  readonly peerOf: (client: Client) => PeerCertificate | null;
  /** The certificate recorded at enrolment (64 lower-case hex), if any. */
  readonly recordedCertificateOf: (device: string) => string | null;
}

function refusal(code: ErrorCode, returnCode: number, detail?: string): AuthenticateError {
  const error = new MqpayError(code, detail) as unknown as AuthenticateError;
  error.returnCode = returnCode;
  return error;
}

function operatorRole(deps: AuthDeps, client: Client, password: Buffer | undefined): Role {
  if (!tokenMatches(password === undefined ? null : password.toString('utf8'), deps.operatorToken)) {
    throw refusal('NOT_AUTHORIZED', BAD_USERNAME_OR_PASSWORD);
  }
  if (isDeviceId(client.id)) throw refusal('NOT_AUTHORIZED', IDENTIFIER_REJECTED);
  return { kind: 'operator' };
}

async function deviceRole(deps: AuthDeps, client: Client, username: string | undefined, password: Buffer | undefined): Promise<Role> {
  if (username === undefined || !isDeviceId(username) || client.id !== username) throw refusal('NOT_AUTHORIZED', IDENTIFIER_REJECTED);
  if (deps.requireClientCert) {
    // The TLS layer already refused certificates from other issuers on the mqtts port; this also
    // covers plain-text and WebSocket listeners, and ties the certificate to this one device.
    const peer = deps.peerOf(client);
    if (peer === null || !peer.authorized) throw refusal('NOT_AUTHORIZED', NOT_AUTHORIZED, `device ${username} presented no client certificate from the device CA${peer?.authorizationError ? ` (${peer.authorizationError})` : ''}`);
    if (peer.subjectCn !== username) throw refusal('NOT_AUTHORIZED', NOT_AUTHORIZED, `client certificate names ${JSON.stringify(peer.subjectCn)}, not device ${username}`);
    const recorded = deps.recordedCertificateOf(username);
    const presented = peer.fingerprint256?.replace(/:/g, '').toLowerCase() ?? null;
    if (recorded !== null && presented !== recorded) throw refusal('NOT_AUTHORIZED', NOT_AUTHORIZED, `client certificate sha256 ${presented ?? 'none'} is not the one enrolled for device ${username}`);
  }
  const device = await deps.service.device(username);
  if (device === null) throw refusal('DEVICE_UNKNOWN', NOT_AUTHORIZED);
  if (password === undefined) throw refusal('TOKEN_INVALID', BAD_USERNAME_OR_PASSWORD);
  let parts;
  let token;
  try {
    parts = splitConnectPassword(new Uint8Array(password));
    token = decodeConnectToken(parts.tokenBytes);
  } catch {
    throw refusal('TOKEN_INVALID', BAD_USERNAME_OR_PASSWORD);
  }
  if (token.device !== username || token.broker !== deps.brokerId) throw refusal('TOKEN_INVALID', BAD_USERNAME_OR_PASSWORD);
  const skewMs = BigInt(deps.clock.nowMs()) - token.timeMs;
  if (skewMs > BigInt(CONNECT_TOKEN_AGE_MS_MAX) || skewMs < -BigInt(CONNECT_TOKEN_AGE_MS_MAX)) throw refusal('TOKEN_EXPIRED', BAD_USERNAME_OR_PASSWORD);
  if (!verify(parts.signature, parts.tokenBytes, device.publicKey)) {
    // A token signed with a key the device rotated away from: the log says so [docs/DESIGN.md rule 12].
    const rotated = await deps.service.signedByRetiredKey(username, parts.signature, parts.tokenBytes);
    throw refusal(rotated ? 'KEY_ROTATED' : 'SIGNATURE_INVALID', BAD_USERNAME_OR_PASSWORD);
  }
  // A disabled device gets CONNACK 2 (identifier rejected: this id may not connect here), a code
  // only this refusal gives to a well-formed device login, so its agent can say DEVICE_DISABLED
  // and stop reconnecting. Checked after the signature, so only the key's holder learns it, and
  // before the token time is recorded: a refused device costs no write [docs/DESIGN.md rule 12].
  if (device.status !== 'active') throw refusal('DEVICE_DISABLED', IDENTIFIER_REJECTED);
  // Only a verified token moves the device's last token time, so garbage cannot lock it out.
  // Not "bad password": the token was good once. CONNACK 5 tells a client that auto-reconnects
  // with its old password that it must sign a fresh token, rather than that its key is wrong.
  if (!(await deps.service.acceptConnectToken(username, token.timeMs))) throw refusal('TOKEN_REPLAYED', NOT_AUTHORIZED);
  return { kind: 'device', device: username };
}

export function makeAuthenticate(deps: AuthDeps) {
  return (client: Client, username: string | undefined, password: Buffer | undefined, done: (error: AuthenticateError | null, success: boolean | null) => void): void => {
    const role = username === OPERATOR_USERNAME
      ? new Promise<Role>((resolve) => resolve(operatorRole(deps, client, password)))
      : deviceRole(deps, client, username, password);
    role.then((granted) => {
      setRole(client, granted);
      done(null, true);
    }, (error: unknown) => {
      const code = error instanceof MqpayError ? error.code : 'INTERNAL';
      deps.onFailure(client.id, code, error instanceof MqpayError ? error.message : undefined);
      done(error instanceof MqpayError ? (error as unknown as AuthenticateError) : refusal('INTERNAL', NOT_AUTHORIZED), false);
    });
  };
}
