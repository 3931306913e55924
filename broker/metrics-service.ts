// Counters mirrored from the settlement service's ServiceStats at each scrape (the service keeps
// plain numbers; a scrape adds what grew since the last one), and who is connected.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BrokerApp } from './app.js';

/** inc() by what `read()` grew since the previous scrape. */
function mirror(read: () => number): (counter: Counter) => void {
  let last = 0;
  return (counter) => {
    const now = read();
    if (now > last) counter.inc(now - last);
    last = now;
  };
}

export function registerServiceMetrics(registry: Registry, app: BrokerApp): void {
  const { stats } = app.service;
  const accepted = mirror(() => stats.vouchersAccepted);
  new Counter({ name: 'mqpay_vouchers_accepted_total', help: 'Vouchers accepted (committed to SQLite) since the broker started.', registers: [registry], collect() { accepted(this); } });

  const rejectedSeen = new Map<string, number>();
  new Counter({
    name: 'mqpay_vouchers_rejected_total', help: 'Vouchers rejected since the broker started, by stable error code.', labelNames: ['code'], registers: [registry],
    collect() {
      for (const [code, count] of stats.vouchersRejected) {
        const grown = count - (rejectedSeen.get(code) ?? 0);
        if (grown > 0) this.inc({ code }, grown);
        rejectedSeen.set(code, count);
      }
    },
  });
  const acl = mirror(() => stats.aclViolations);
  new Counter({ name: 'mqpay_acl_violations_total', help: 'MQTT publishes or subscriptions refused by the ACL (the connection is closed).', registers: [registry], collect() { acl(this); } });
  const auth = mirror(() => stats.authFailures);
  new Counter({ name: 'mqpay_auth_failures_total', help: 'MQTT connections refused at CONNECT (bad token, unknown or disabled device, wrong operator token).', registers: [registry], collect() { auth(this); } });
  new Gauge({ name: 'mqpay_devices_connected', help: 'Devices with a live MQTT session.', registers: [registry], collect() { this.set(app.mqtt.online.size); } });
}
