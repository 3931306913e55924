// The four checks RabbitMQ's HTTP auth backend asks, as mqpay answers them: each takes the
// decoded form fields and says allow or deny. The user check is the embedded broker's login
// check (broker/mqtt/login-check.ts); the others are auth-decisions.ts. Refusals and topic
// violations are counted in telemetry and logged like the embedded broker's.
import type { Logger } from 'pino';
import { ERRORS, MqpayError } from '../../../shared/errors.js';
import { checkLogin, LOGIN_REFUSAL_HINTS, type LoginDeps } from '../../mqtt/login-check.js';
import type { Telemetry } from '../../service/telemetry.js';
import { decideResource, decideTopic, decideVhost, roleOfUsername, type Decision } from './auth-decisions.js';
import { textField } from './form-body.js';

export type AuthCheck = 'user' | 'vhost' | 'resource' | 'topic';
export const AUTH_CHECKS: readonly AuthCheck[] = ['user', 'vhost', 'resource', 'topic'];

export interface AuthCheckDeps extends LoginDeps {
  readonly telemetry: Telemetry;
  readonly logger: Logger;
  /** Devices may subscribe to every seller's offers (the broker's --offers-wildcard). */
  readonly offersWildcard: boolean;
}

type Form = ReadonlyMap<string, Uint8Array>;

const text = (form: Form, name: string): string => textField(form, name) ?? '';

async function checkUser(deps: AuthCheckDeps, form: Form): Promise<boolean> {
  const username = textField(form, 'username');
  // RabbitMQ names the client id of MQTT logins only: a device or operator login over AMQP
  // (no client id) is refused, so they speak MQTT and nothing else.
  const clientId = textField(form, 'client_id');
  try {
    if (clientId === undefined) throw new MqpayError('NOT_AUTHORIZED', 'no MQTT client id: devices and operators log in over MQTT only');
    if (roleOfUsername(username ?? '') === undefined) throw new MqpayError('NOT_AUTHORIZED', `user ${JSON.stringify(username)} is not a device or the operator`);
    await checkLogin(deps, { clientId, username, password: form.get('password') });
    return true;
  } catch (error) {
    const code = error instanceof MqpayError ? error.code : 'INTERNAL';
    deps.telemetry.emit({ kind: 'auth.failure', code, client: clientId ?? '' });
    const detail = error instanceof MqpayError ? error.message : String(error);
    deps.logger.warn({ client: clientId, code, detail, why: LOGIN_REFUSAL_HINTS[code] ?? ERRORS[code].message }, 'connection refused');
    return false;
  }
}

function logged(deps: AuthCheckDeps, form: Form, what: string, decision: Decision): boolean {
  if (!decision.allowed) deps.logger.warn({ client: text(form, 'client_id'), user: text(form, 'username'), what, reason: decision.reason }, 'RabbitMQ resource refused');
  return decision.allowed;
}

function checkTopic(deps: AuthCheckDeps, form: Form): boolean {
  const request = {
    username: text(form, 'username'), vhost: text(form, 'vhost'), clientId: textField(form, 'variable_map.client_id'),
    name: text(form, 'name'), permission: text(form, 'permission'), routingKey: text(form, 'routing_key'),
  };
  const decision = decideTopic(request, deps.offersWildcard);
  if (decision.allowed) return true;
  deps.telemetry.emit({ kind: 'acl.violation', device: request.clientId ?? request.username });
  deps.logger.warn({ client: request.clientId, what: decision.topic ?? request.routingKey, permission: request.permission, reason: decision.reason }, 'ACL violation');
  return false;
}

/** allow or deny; never throws (a failure is a deny, logged). */
export async function runAuthCheck(deps: AuthCheckDeps, check: AuthCheck, form: Form): Promise<boolean> {
  const base = { username: text(form, 'username'), vhost: text(form, 'vhost'), clientId: textField(form, 'client_id') };
  switch (check) {
    case 'user': return checkUser(deps, form);
    case 'vhost': return logged(deps, form, `vhost ${base.vhost}`, decideVhost(base));
    case 'resource': {
      const request = { ...base, resource: text(form, 'resource'), name: text(form, 'name'), permission: text(form, 'permission') };
      return logged(deps, form, `${request.resource} ${request.name} (${request.permission})`, decideResource(request));
    }
    case 'topic': return checkTopic(deps, form);
  }
}
