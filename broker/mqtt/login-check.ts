// The login check of a CONNECT [docs/DESIGN.md rule 8], one function for every front door: the
// embedded aedes broker (authenticate.ts) and the cluster's HTTP auth backend that RabbitMQ asks
// (broker/cluster/auth/). A device sends username = its id, clientId = its id, password = a
// signed, time-stamped connect token, each later than the last one accepted (recorded in the
// store through the unit of work, so a token is single use across every node and process that
// shares the store). Operators send username "operator" and the operator token, with a clientId
// that is not a device id (so they can never take over a device's session).
import { CONNECT_TOKEN_AGE_MS_MAX } from '../../shared/limits.js';
import { verify } from '../../shared/crypto.js';
import { decodeConnectToken, splitConnectPassword } from '../../shared/connect-token.js';
import { MqpayError, type ErrorCode } from '../../shared/errors.js';
import { isDeviceId } from '../../shared/ids.js';
import { tokenMatches } from '../operator/operator-token.js';
import type { SettlementService } from '../service/service.js';
import type { Clock } from '../service/ports.js';
import { OPERATOR_USERNAME, type Role } from './roles.js';

import {
  CONNACK_BAD_USERNAME_OR_PASSWORD as BAD_USERNAME_OR_PASSWORD, CONNACK_IDENTIFIER_REJECTED as IDENTIFIER_REJECTED, CONNACK_NOT_AUTHORIZED as NOT_AUTHORIZED,
} from '../../shared/connack.js';

export interface LoginDeps {
  /** Reads the device and records its token time through a unit of work. */
  readonly service: Pick<SettlementService, 'acceptConnectToken' | 'device' | 'signedByRetiredKey'>;
  readonly clock: Clock;
  readonly brokerId: string;
  readonly operatorToken: string;
}

export interface Login {
  readonly clientId: string;
  readonly username: string | undefined;
  /** The raw password bytes (a device's is binary: token and signature). */
  readonly password: Uint8Array | undefined;
}

/** What an operator reading the log needs to know about a refused CONNECT, beyond the code. */
export const LOGIN_REFUSAL_HINTS: Partial<Record<ErrorCode, string>> = {
  TOKEN_REPLAYED: 'connect token already used: each connection needs a freshly signed token, so a client that reconnects must not re-send its old password',
  TOKEN_EXPIRED: "connect token time is more than the allowed skew from the broker's clock: check the device clock",
};

/** A refused login: an MqpayError carrying the CONNACK return code an MQTT client gets. */
export type LoginRefusal = MqpayError & { returnCode: number };

export function refusal(code: ErrorCode, returnCode: number, detail?: string): LoginRefusal {
  const error = new MqpayError(code, detail) as LoginRefusal;
  error.returnCode = returnCode;
  return error;
}

function operatorRole(deps: LoginDeps, login: Login): Role {
  const password = login.password === undefined ? null : Buffer.from(login.password).toString('utf8');
  if (!tokenMatches(password, deps.operatorToken)) throw refusal('NOT_AUTHORIZED', BAD_USERNAME_OR_PASSWORD);
  if (isDeviceId(login.clientId)) throw refusal('NOT_AUTHORIZED', IDENTIFIER_REJECTED);
  return { kind: 'operator' };
}

function decodePassword(password: Uint8Array | undefined) {
  if (password === undefined) throw refusal('TOKEN_INVALID', BAD_USERNAME_OR_PASSWORD);
  try {
    const parts = splitConnectPassword(new Uint8Array(password));
    return { parts, token: decodeConnectToken(parts.tokenBytes) };
  } catch {
    throw refusal('TOKEN_INVALID', BAD_USERNAME_OR_PASSWORD);
  }
}

/**
 * `checkCertificate` runs after the id checks and before the store is read (the embedded
 * broker's mutual TLS ties the certificate to the device; the cluster has none).
 */
async function deviceRole(deps: LoginDeps, login: Login, checkCertificate: (device: string) => void): Promise<Role> {
  const { username } = login;
  if (username === undefined || !isDeviceId(username) || login.clientId !== username) throw refusal('NOT_AUTHORIZED', IDENTIFIER_REJECTED);
  checkCertificate(username);
  const device = await deps.service.device(username);
  if (device === null) throw refusal('DEVICE_UNKNOWN', NOT_AUTHORIZED);
  const { parts, token } = decodePassword(login.password);
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

const noCertificateCheck = (): void => undefined;

/** The role a login is granted, or a LoginRefusal (rejected promise) saying why not. */
export async function checkLogin(deps: LoginDeps, login: Login, checkCertificate: (device: string) => void = noCertificateCheck): Promise<Role> {
  if (login.username === OPERATOR_USERNAME) return operatorRole(deps, login);
  return deviceRole(deps, login, checkCertificate);
}
