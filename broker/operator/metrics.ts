// Prometheus metrics at GET /metrics, on the broker's own prom-client Registry (never the global
// one, so two brokers in one process, as in tests, do not mix). Names are prefixed mqpay_;
// Node's default metrics (event loop lag, heap, CPU, GC) keep their standard names.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BrokerApp } from '../app.js';
import { MQPAY_VERSION } from '../../shared/version.js';
import { PROTOCOL_VERSION } from '../../shared/schemas.js';
import type { SettlementService } from '../service/service.js';
import type { Db } from '../store/sqlite/open-database.js';
import { deviceCounts, ledgerFlows, ledgerTotals, openChannelCount } from '../store/sqlite/operator-reads.js';
import type { SettlementReason } from '../store/port.js';
import type { OperatorReads } from '../store/operator-reads.js';
import type { Telemetry } from '../service/telemetry.js';
import type { TlsReloader } from '../mqtt/tls-material.js';

export interface OperatorMetrics {
  readonly registry: Registry;
  /** Counts one answered HTTP request by route template (not the raw URL: bounded labels), and its duration. */
  observeHttp(route: string, method: string, status: number, durationSeconds: number): void;
  close(): void;
}

export function createOperatorMetrics(app: BrokerApp, sseClients: () => number): OperatorMetrics {
  const registry = new Registry();
  registerServiceMetrics(registry, app.service.telemetry, () => app.mqtt.online.size, app.tls);
  registerLedgerMetrics(registry, app.db, app.currency);
  registerBackupMetrics(registry, app);
  const stopLatencies = registerLatencyMetrics(registry, app);
  return operatorMetricsOn(registry, app.service, sseClients, stopLatencies);
}

/**
 * The metrics of an operator API served beside a cluster worker [issue 15]: the service's
 * counters (this worker's), settlements, HTTP and the process; the ledger's gauges come from the
 * shared ledger through the operator reads port at each scrape.
 */
export function createClusterOperatorMetrics(service: SettlementService, reads: OperatorReads, currency: string, online: () => number, sseClients: () => number): OperatorMetrics {
  const registry = new Registry();
  registerServiceMetrics(registry, service.telemetry, online, null);
  registerSharedLedgerMetrics(registry, reads, currency);
  return operatorMetricsOn(registry, service, sseClients, () => undefined);
}

/** What every operator API's metrics have: the process, settlements, HTTP requests and live streams. */
function operatorMetricsOn(registry: Registry, service: SettlementService, sseClients: () => number, stopMore: () => void): OperatorMetrics {
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  const stopSettlements = registerSettlementMetrics(registry, service);
  const http = new Counter({ name: 'mqpay_http_requests_total', help: 'Operator HTTP requests answered, by route template, method and status.', labelNames: ['route', 'method', 'status'], registers: [registry] });
  const httpDuration = new Histogram({ name: 'mqpay_http_request_duration_seconds', help: 'Operator HTTP request duration, by route template and method (a live-event stream counts until it closes).', labelNames: ['route', 'method'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 60], registers: [registry] });
  new Gauge({ name: 'mqpay_sse_clients', help: 'Open live-event streams (/api/events).', registers: [registry], collect() { this.set(sseClients()); } });
  return {
    registry,
    observeHttp: (route, method, status, durationSeconds) => {
      http.inc({ route, method, status: String(status) });
      httpDuration.observe({ route, method }, durationSeconds);
    },
    close: () => {
      stopSettlements();
      stopMore();
    },
  };
}

// The build, the latencies of the voucher path (verification, commits, arrival to verdict) from
// the telemetry port's events, and the MQTT traffic the host counts on every connection.

const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];

function registerLatencyMetrics(registry: Registry, app: BrokerApp): () => void {
  new Gauge({ name: 'mqpay_build_info', help: 'The running build: mqpay version, protocol version and Node version (always 1).', labelNames: ['version', 'protocol', 'node'], registers: [registry] })
    .set({ version: MQPAY_VERSION, protocol: String(PROTOCOL_VERSION), node: process.versions.node }, 1);
  const verdict = new Histogram({ name: 'mqpay_voucher_verdict_seconds', help: "From a voucher's arrival to its verdict going out (accepted: after its commit), by outcome.", labelNames: ['outcome'], buckets: LATENCY_BUCKETS_SECONDS, registers: [registry] });
  const verify = new Histogram({ name: 'mqpay_verify_seconds', help: 'One signature verification, queue for the worker included.', buckets: LATENCY_BUCKETS_SECONDS, registers: [registry] });
  const commit = new Histogram({ name: 'mqpay_commit_seconds', help: 'One SQLite commit: a group commit of vouchers and receipts (batch) or one unit of work (unit).', labelNames: ['what'], buckets: LATENCY_BUCKETS_SECONDS, registers: [registry] });
  const { traffic } = app.mqtt;
  new Counter({
    name: 'mqpay_mqtt_bytes_total', help: 'MQTT bytes over every connection, by direction.', labelNames: ['direction'], registers: [registry],
    collect() {
      this.reset();
      this.inc({ direction: 'in' }, traffic.bytesIn);
      this.inc({ direction: 'out' }, traffic.bytesOut);
    },
  });
  new Counter({
    name: 'mqpay_mqtt_packets_total', help: 'MQTT packets over every connection, by direction.', labelNames: ['direction'], registers: [registry],
    collect() {
      this.reset();
      this.inc({ direction: 'in' }, traffic.packetsIn);
      this.inc({ direction: 'out' }, traffic.packetsOut);
    },
  });
  return app.service.telemetry.on((event) => {
    if (event.kind === 'voucher.accepted') verdict.observe({ outcome: 'accepted' }, event.latencyMs / 1000);
    else if (event.kind === 'voucher.rejected') verdict.observe({ outcome: 'rejected' }, event.latencyMs / 1000);
    else if (event.kind === 'verify') verify.observe(event.durationMs / 1000);
    else if (event.kind === 'commit') commit.observe({ what: event.what }, event.durationMs / 1000);
  });
}

// Counters read from the telemetry port at each scrape (nothing is copied or kept here), and
// who is connected.

/** Sets a counter to the telemetry port's value (a counter only goes up, and so does this one). */
export function readCounter(counter: Counter, value: number): void {
  counter.reset();
  if (value > 0) counter.inc(value);
}

function registerServiceMetrics(registry: Registry, telemetry: Telemetry, online: () => number, tls: TlsReloader | null): void {
  new Counter({ name: 'mqpay_vouchers_accepted_total', help: 'Vouchers accepted (committed to SQLite) since the broker started.', registers: [registry], collect() { readCounter(this, telemetry.vouchersAccepted); } });
  new Counter({
    name: 'mqpay_vouchers_rejected_total', help: 'Vouchers rejected since the broker started, by stable error code.', labelNames: ['code'], registers: [registry],
    collect() {
      this.reset();
      for (const [code, count] of telemetry.vouchersRejected) this.inc({ code }, count);
    },
  });
  new Counter({
    name: 'mqpay_json_deprecated_messages_total', help: 'Vouchers and receipts received in the deprecated JSON form (protocol v4 refuses it), by outbox box.', labelNames: ['box'], registers: [registry],
    collect() {
      this.reset();
      for (const [box, count] of telemetry.jsonDeprecated) this.inc({ box }, count);
    },
  });
  new Counter({ name: 'mqpay_acl_violations_total', help: 'MQTT publishes or subscriptions refused by the ACL (the connection is closed).', registers: [registry], collect() { readCounter(this, telemetry.aclViolations); } });
  new Counter({
    name: 'mqpay_storage_lock_waits_total', help: 'Writes that waited for a database lock held by another process, by outcome (acquired in time, or refused SERVICE_UNAVAILABLE).', labelNames: ['outcome'], registers: [registry],
    collect() {
      this.reset();
      const waits = telemetry.storageLockWaits;
      this.inc({ outcome: 'acquired' }, waits.acquired);
      this.inc({ outcome: 'refused' }, waits.refused);
    },
  });
  new Counter({ name: 'mqpay_storage_sync_stalls_total', help: 'Commits whose fsync took longer than storeLockWaitMs (the disk stalled); new writes are refused SERVICE_UNAVAILABLE until it ends.', registers: [registry], collect() { readCounter(this, telemetry.storageSyncStalls.count); } });
  new Gauge({ name: 'mqpay_storage_stalled', help: '1 while a commit has waited for the disk longer than storeLockWaitMs (writes refused), else 0.', registers: [registry], collect() { this.set(telemetry.storageSyncStalls.stalled ? 1 : 0); } });
  new Counter({ name: 'mqpay_slow_clients_dropped_total', help: 'Connections dropped because they held more than outboundBytesPerClientMax unsent (a client that stopped reading).', registers: [registry], collect() { readCounter(this, telemetry.slowClientsDropped); } });
  new Counter({ name: 'mqpay_packets_oversized_total', help: 'Connections closed for announcing an MQTT packet above packetBytesMax.', registers: [registry], collect() { readCounter(this, telemetry.oversizedPackets); } });
  new Counter({ name: 'mqpay_storage_faults_total', help: 'Writes refused SERVICE_UNAVAILABLE because the ledger\'s disk was full or failing, and stalls of a disk too slow to make a commit durable within storeLockWaitMs.', registers: [registry], collect() { readCounter(this, telemetry.storageFaults); } });
  new Counter({ name: 'mqpay_double_signs_total', help: 'Double-signed vouchers recorded as evidence (bounded per channel); each flags its payer.', registers: [registry], collect() { readCounter(this, telemetry.doubleSigns); } });
  new Counter({ name: 'mqpay_auth_failures_total', help: 'MQTT connections refused at CONNECT (bad token, unknown or disabled device, wrong operator token).', registers: [registry], collect() { readCounter(this, telemetry.authFailures); } });
  new Gauge({ name: 'mqpay_devices_connected', help: 'Devices with a live MQTT session.', registers: [registry], collect() { this.set(online()); } });
  // Read at each scrape, so a reloaded certificate shows at once; absent without TLS.
  if (tls !== null) {
    new Gauge({ name: 'mqpay_tls_certificate_expiry_timestamp_seconds', help: 'When the served TLS certificate expires (notAfter), unix seconds.', registers: [registry], collect() { this.set(Math.floor(tls.current.notAfterMs / 1000)); } });
  }
}

// Scheduled backups (absent without --backup-every): the age of the latest, read at each scrape,
// so an alert can fire on it whether or not the broker's own alarm did.

function registerBackupMetrics(registry: Registry, app: BrokerApp): void {
  const backups = app.backups;
  if (backups === null) return;
  new Gauge({ name: 'mqpay_backup_age_seconds', help: 'Seconds since the latest checked backup (since the broker started, if none yet).', registers: [registry], collect() { this.set(backups.ageSeconds()); } });
  new Gauge({ name: 'mqpay_backup_overdue', help: 'Whether the latest backup is older than the bound (1) or not (0).', registers: [registry], collect() { this.set(backups.overdue ? 1 : 0); } });
  new Gauge({ name: 'mqpay_backup_last_success_timestamp_seconds', help: 'When the latest checked backup was written, unix seconds (0: none).', registers: [registry], collect() { this.set(Math.floor((backups.lastSuccessMs ?? 0) / 1000)); } });
  new Counter({
    name: 'mqpay_backups_total', help: 'Scheduled backups since the broker started, by outcome.', labelNames: ['outcome'], registers: [registry],
    collect() {
      this.reset();
      this.inc({ outcome: 'success' }, backups.successes);
      this.inc({ outcome: 'failure' }, backups.failures);
    },
  });
}

// Ledger gauges, read from SQLite at each scrape. Balances are bigint micro-units summed exactly
// in SQL, then handed to Prometheus as a float64: exact up to 2^53 micro-units (about 9 billion
// currency units), rounded to ~16 significant digits beyond. Acceptable for a gauge; the ledger
// itself (and `GET /api/ledger`) stays exact.

function registerLedgerMetrics(registry: Registry, db: Db, currency: string): void {
  // The currency is fixed for the ledger's life, so one info gauge names it [docs/DESIGN.md rule 13].
  new Gauge({ name: 'mqpay_ledger_info', help: 'The ledger currency (ISO 4217) as a label; always 1. Every *_micro gauge counts 1e-6 of it.', labelNames: ['currency'], registers: [registry], collect() { this.set({ currency }, 1); } });
  new Gauge({
    name: 'mqpay_ledger_balance_micro', help: 'Sum of account balances by kind, in micro-units (1e-6 of the currency).', labelNames: ['kind'], registers: [registry],
    collect() {
      const totals = ledgerTotals(db);
      this.set({ kind: 'wallet' }, Number(totals.wallet.balance));
      this.set({ kind: 'escrow' }, Number(totals.escrow.balance));
      this.set({ kind: 'fees' }, Number(totals.fees.balance));
    },
  });
  new Gauge({ name: 'mqpay_ledger_funded_micro', help: 'Money held from outside (minus the external account: funded minus paid out), in micro-units; equals wallet + escrow + fees.', registers: [registry], collect() { this.set(Number(-ledgerTotals(db).external.balance)); } });
  new Gauge({ name: 'mqpay_ledger_paid_out_micro', help: 'Money paid out to outside (payout transfers from wallets and fees), in micro-units.', registers: [registry], collect() { this.set(Number(ledgerFlows(db).paidOut)); } });
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

// The ledger's gauges over a shared ledger (the cluster's PostgreSQL), read through the operator
// reads port at each scrape (prom-client awaits an async collect).

function registerSharedLedgerMetrics(registry: Registry, reads: OperatorReads, currency: string): void {
  new Gauge({ name: 'mqpay_ledger_info', help: 'The ledger currency (ISO 4217) as a label; always 1. Every *_micro gauge counts 1e-6 of it.', labelNames: ['currency'], registers: [registry], collect() { this.set({ currency }, 1); } });
  new Gauge({
    name: 'mqpay_ledger_balance_micro', help: 'Sum of account balances by kind, in micro-units (1e-6 of the currency).', labelNames: ['kind'], registers: [registry],
    async collect() {
      const totals = await reads.ledgerTotals();
      for (const kind of ['wallet', 'escrow', 'fees'] as const) this.set({ kind }, Number(totals[kind].balance));
    },
  });
  new Gauge({
    name: 'mqpay_channels_open', help: 'Open payment channels (in a dispute window included).', registers: [registry],
    async collect() {
      const { channels } = await reads.summaryCounts();
      this.set(channels.open + channels.closing);
    },
  });
}

// Settlement metrics, from the telemetry port's settlement events, which reports every committed
// settlement (epochs, thresholds, manual runs, expiries, closes by devices or operators) with the
// time its settling transaction took.

const SETTLEMENT_REASONS = ['epoch', 'threshold', 'close', 'expiry', 'manual'] as const satisfies readonly SettlementReason[];

function registerSettlementMetrics(registry: Registry, service: SettlementService): () => void {
  const count = new Counter({ name: 'mqpay_settlements_total', help: 'Settlements committed, by reason.', labelNames: ['reason'], registers: [registry] });
  const channels = new Histogram({ name: 'mqpay_settlement_channels', help: 'Channels settled per settlement (its size).', buckets: [1, 10, 100, 1_000, 10_000, 100_000], registers: [registry] });
  const settled = new Counter({ name: 'mqpay_settled_micro_total', help: 'Amount moved out of escrow by settlements, fees included, in micro-units (float64: exact to 2^53).', registers: [registry] });
  const duration = new Histogram({ name: 'mqpay_settlement_duration_seconds', help: 'Time of the settling SQLite transaction, by reason.', labelNames: ['reason'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] });

  for (const reason of SETTLEMENT_REASONS) {
    count.inc({ reason }, 0);
    duration.zero({ reason });
  }

  return service.telemetry.on((event) => {
    if (event.kind !== 'settlement') return;
    const { result, durationMs } = event;
    count.inc({ reason: result.reason });
    channels.observe(result.channelCount);
    settled.inc(Number(result.amount)); // a gauge of micro-units: float64, exact to 2^53
    duration.observe({ reason: result.reason }, durationMs / 1000);
  });
}
