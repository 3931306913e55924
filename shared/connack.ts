// What an mqpay broker means by each MQTT 3.1.1 CONNACK refusal [MQTT-3.2.2.3]. MQTT 3.1.1
// carries no reason text, so each code is kept for refusals a device handles alike
// [docs/DESIGN.md rule 8]:
//   2 identifier rejected: the device is disabled by the operator (DEVICE_DISABLED), or the
//     clientId and username are not one well-formed device id (a client bug, never an agent's).
//   4 bad user name or password: the connect token is malformed, too old or too new, or its
//     signature does not verify.
//   5 not authorized: the device is not enrolled, its token was already used (sign a fresh one),
//     or its TLS client certificate is not the one required.
// 1 (protocol version) and 3 (server unavailable) are aedes' own.
import type { ErrorCode } from './errors.js';

export const CONNACK_PROTOCOL_REFUSED = 1;
export const CONNACK_IDENTIFIER_REJECTED = 2;
export const CONNACK_SERVER_UNAVAILABLE = 3;
export const CONNACK_BAD_USERNAME_OR_PASSWORD = 4;
export const CONNACK_NOT_AUTHORIZED = 5;

/** The mqpay code a device reports for a CONNACK refusal of its own, well-formed login. */
export function connackRefusalCode(returnCode: number): ErrorCode {
  switch (returnCode) {
    case CONNACK_IDENTIFIER_REJECTED: return 'DEVICE_DISABLED';
    case CONNACK_BAD_USERNAME_OR_PASSWORD: return 'TOKEN_INVALID';
    case CONNACK_NOT_AUTHORIZED: return 'NOT_AUTHORIZED';
    case CONNACK_SERVER_UNAVAILABLE: return 'SERVICE_UNAVAILABLE';
    default: return 'NOT_AUTHORIZED';
  }
}
