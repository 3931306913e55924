// Prometheus metrics of the cluster's auth service at GET /metrics, on its own registry: logins
// refused and ACL violations (read from its telemetry at each scrape, like the broker's), and the
// checks RabbitMQ asked, by check and answer (a rising `deny` on `topic` is a device probing).
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import type { Telemetry } from '../../service/telemetry.js';
import { readCounter } from '../../operator/metrics.js';
import type { AuthCheck } from './auth-checks.js';

export interface AuthMetrics {
  readonly registry: Registry;
  observe(check: AuthCheck, allowed: boolean): void;
}

export function createAuthMetrics(telemetry: Telemetry): AuthMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Counter({ name: 'mqpay_auth_failures_total', help: 'Logins (MQTT CONNECT at any RabbitMQ node) refused: bad token, replay, unknown or disabled device, wrong operator token.', registers: [registry], collect() { readCounter(this, telemetry.authFailures); } });
  new Counter({ name: 'mqpay_acl_violations_total', help: 'Publishes or subscriptions refused by the ACL (RabbitMQ topic checks answered deny).', registers: [registry], collect() { readCounter(this, telemetry.aclViolations); } });
  const checks = new Counter({ name: 'mqpay_auth_checks_total', help: 'Checks RabbitMQ asked, by check (user, vhost, resource, topic) and answer.', labelNames: ['check', 'answer'], registers: [registry] });
  return {
    registry,
    observe: (check, allowed) => checks.inc({ check, answer: allowed ? 'allow' : 'deny' }),
  };
}
