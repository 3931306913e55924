// Ledger gauges, read from SQLite at each scrape. Balances are bigint micro-units summed exactly
// in SQL, then handed to Prometheus as a float64: exact up to 2^53 micro-units (about 9 billion
// currency units), rounded to ~16 significant digits beyond. Acceptable for a gauge; the ledger
// itself (and `GET /api/ledger`) stays exact.
import { Gauge, type Registry } from 'prom-client';
import type { Db } from './store/open-database.js';
import { deviceCounts, ledgerTotals, openChannelCount } from './store/operator-reads.js';

export function registerLedgerMetrics(registry: Registry, db: Db): void {
  new Gauge({
    name: 'mqpay_ledger_balance_micro', help: 'Sum of account balances by kind, in micro-units (1e-6 of the currency).', labelNames: ['kind'], registers: [registry],
    collect() {
      const totals = ledgerTotals(db);
      this.set({ kind: 'wallet' }, Number(totals.wallet.balance));
      this.set({ kind: 'escrow' }, Number(totals.escrow.balance));
      this.set({ kind: 'fees' }, Number(totals.fees.balance));
    },
  });
  new Gauge({ name: 'mqpay_ledger_funded_micro', help: 'Money brought in from outside (minus the external account), in micro-units; equals wallet + escrow + fees.', registers: [registry], collect() { this.set(Number(-ledgerTotals(db).external.balance)); } });
  new Gauge({
    name: 'mqpay_ledger_accounts', help: 'Ledger accounts by kind.', labelNames: ['kind'], registers: [registry],
    collect() {
      const totals = ledgerTotals(db);
      for (const kind of ['wallet', 'escrow', 'fees'] as const) this.set({ kind }, totals[kind].accounts);
    },
  });
  new Gauge({
    name: 'mqpay_devices_enrolled', help: 'Enrolled devices by status.', labelNames: ['status'], registers: [registry],
    collect() {
      const counts = deviceCounts(db);
      this.set({ status: 'active' }, counts.active);
      this.set({ status: 'disabled' }, counts.disabled);
    },
  });
  new Gauge({ name: 'mqpay_channels_open', help: 'Open payment channels.', registers: [registry], collect() { this.set(openChannelCount(db)); } });
}
