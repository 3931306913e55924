// Counters read from the telemetry port at each scrape, and who is connected.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BrokerApp } from './app.js';

/** A counter that reads its value from the telemetry port at each scrape (nothing is copied). */
function readCounter(counter: Counter, value: number): void {
  counter.reset();
  if (value > 0) counter.inc(value);
}

export function registerServiceMetrics(registry: Registry, app: BrokerApp): void {
  const { telemetry } = app.service;
  new Counter({ name: 'mqpay_vouchers_accepted_total', help: 'Vouchers accepted (committed to SQLite) since the broker started.', registers: [registry], collect() { readCounter(this, telemetry.vouchersAccepted); } });
  new Counter({
    name: 'mqpay_vouchers_rejected_total', help: 'Vouchers rejected since the broker started, by stable error code.', labelNames: ['code'], registers: [registry],
    collect() {
      this.reset();
      for (const [code, count] of telemetry.vouchersRejected) this.inc({ code }, count);
    },
  });
  new Counter({ name: 'mqpay_acl_violations_total', help: 'MQTT publishes or subscriptions refused by the ACL (the connection is closed).', registers: [registry], collect() { readCounter(this, telemetry.aclViolations); } });
  new Counter({ name: 'mqpay_auth_failures_total', help: 'MQTT connections refused at CONNECT (bad token, unknown or disabled device, wrong operator token).', registers: [registry], collect() { readCounter(this, telemetry.authFailures); } });
  new Gauge({ name: 'mqpay_devices_connected', help: 'Devices with a live MQTT session.', registers: [registry], collect() { this.set(app.mqtt.online.size); } });
}
