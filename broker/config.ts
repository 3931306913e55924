// Broker configuration: validated once with zod, then frozen (fastify style). Every limit is a
// named option whose default comes from shared/limits.ts or broker/limits.ts.
import * as z from 'zod';
import { MqpayError } from '../shared/errors.js';
import { limitOrderProblem } from './service/spending/spending-guard.js';
import {
  AMOUNT_MICRO_MAX,
  MESSAGES_BURST_PER_DEVICE_MAX,
  MESSAGES_PER_SECOND_PER_DEVICE_MAX,
  PACKET_BYTES_MAX,
} from '../shared/limits.js';
import {
  CHANNEL_CACHE_ENTRIES_DEFAULT, CLIENTS_DEFAULT, CLOSE_WINDOW_SECONDS_DEFAULT, CLOSE_WINDOW_SECONDS_MAX, CONCURRENCY_DEFAULT, CONNECT_TIMEOUT_MS_DEFAULT, DRAIN_TIMEOUT_MS_DEFAULT, EPOCH_SECONDS_DEFAULT, FEE_PPM_MAX,
  IN_FLIGHT_MESSAGES_PER_DEVICE_DEFAULT, KEEPALIVE_SECONDS_MAX_DEFAULT, MQTT_PORT_DEFAULT, MQTTS_PORT_DEFAULT, OUTBOUND_BYTES_PER_CLIENT_DEFAULT, QUEUE_PACKETS_DEFAULT, STORE_LOCK_WAIT_MS_DEFAULT, VOUCHER_BATCH_ENTRIES_DEFAULT,
} from './limits.js';
import { BACKUP_EVERY_SECONDS_MAX, BACKUP_EVERY_SECONDS_MIN, BACKUP_KEEP_DEFAULT, BACKUP_KEEP_MAX, VERIFY_THREADS_DEFAULT, VERIFY_THREADS_MAX } from './limits.js';

export const brokerConfigSchema = z.strictObject({
  dataDir: z.string().min(1),
  /** The ledger currency (ISO 4217): a new ledger gets it; an existing one must already have it. null: the ledger's (or the default for a new one). */
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code of three upper-case letters').nullable().default(null),
  host: z.string().default('127.0.0.1'),
  /** Plain-text MQTT port; 0 picks a free port (tests); null = no plain-text MQTT listener. */
  mqttPort: z.number().int().min(0).max(65535).nullable().default(MQTT_PORT_DEFAULT),
  /**
   * HTTP port for the operator API and the MQTT-over-WebSocket listener (/mqtt); null = none.
   * With a certificate (tlsCertFile) it serves HTTPS and WSS instead.
   */
  httpPort: z.number().int().min(0).max(65535).nullable().default(null),
  /** MQTT over TLS port, used only with a certificate; 0 picks a free port (tests). */
  mqttsPort: z.number().int().min(0).max(65535).default(MQTTS_PORT_DEFAULT),
  /** PEM certificate chain and key of the TLS listeners; both or neither. Re-read on reload. */
  tlsCertFile: z.string().min(1).nullable().default(null),
  tlsKeyFile: z.string().min(1).nullable().default(null),
  /** PEM CA that issues device certificates: set, every device must present one naming it (CN). */
  tlsClientCaFile: z.string().min(1).nullable().default(null),
  /** The operator API (and /metrics) also wants a client certificate from tlsClientCaFile. */
  operatorClientCert: z.boolean().default(false),
  /** Allows a plain-text listener (MQTT, or HTTP without a certificate) on a non-loopback address. */
  insecurePlaintext: z.boolean().default(false),
  /**
   * Settled vouchers older than this are deleted (never a channel's latest, nor anything of a
   * channel with unsettled value or in a closing/disputed state); null keeps them forever.
   */
  voucherRetentionDays: z.number().int().min(1).max(36_500).nullable().default(null),
  /** Lets devices subscribe to every seller's offers at once (mqpay/v1/offers/+). */
  offersWildcard: z.boolean().default(false),
  brokerId: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,31}$/).default('mqpay'),
  operatorToken: z.string().min(16).max(256),
  epochSeconds: z.number().int().min(1).max(86_400).default(EPOCH_SECONDS_DEFAULT),
  /** Settle a channel early once this much is unsettled, in micro-units; 0 disables. */
  settleThresholdMicro: z.bigint().min(0n).default(0n),
  feePpm: z.number().int().min(0).max(FEE_PPM_MAX).default(0),
  /**
   * Server-side spending limits of every device without its own (`mqpay device limits`), in
   * micro-units; null: none [docs/DESIGN.md rule 12].
   */
  deviceMaxPerPaymentMicro: z.bigint().min(1n).max(AMOUNT_MICRO_MAX).nullable().default(null),
  deviceMaxPerHourMicro: z.bigint().min(1n).max(AMOUNT_MICRO_MAX).nullable().default(null),
  deviceMaxPerDayMicro: z.bigint().min(1n).max(AMOUNT_MICRO_MAX).nullable().default(null),
  /** Dispute window between a payer's, operator's or expiry's close and its settlement; 0 settles at once. */
  closeWindowSeconds: z.number().int().min(0).max(CLOSE_WINDOW_SECONDS_MAX).default(CLOSE_WINDOW_SECONDS_DEFAULT),
  voucherBatchMax: z.number().int().min(1).max(10_000).default(VOUCHER_BATCH_ENTRIES_DEFAULT),
  /** Channels the voucher hot path keeps in memory (LRU; channels awaiting a commit are never evicted). */
  /** How long a write waits for a write lock held by another process before SERVICE_UNAVAILABLE. */
  /** Bytes held unsent for one connection before the client is dropped as a slow reader. */
  outboundBytesPerClientMax: z.number().int().min(65_536).max(1_073_741_824).default(OUTBOUND_BYTES_PER_CLIENT_DEFAULT),
  storeLockWaitMs: z.number().int().min(0).max(60_000).default(STORE_LOCK_WAIT_MS_DEFAULT),
  channelCacheEntriesMax: z.number().int().min(1).max(10_000_000).default(CHANNEL_CACHE_ENTRIES_DEFAULT),
  /** QoS of voucher verdicts and forwards (see ServiceOptions.voucherReplyQos). */
  voucherReplyQos: z.union([z.literal(0), z.literal(1)]).default(0),
  /** Worker threads verifying voucher signatures; 0 verifies on the event loop. */
  verifyThreads: z.number().int().min(0).max(VERIFY_THREADS_MAX).default(VERIFY_THREADS_DEFAULT),
  maxClients: z.number().int().min(1).max(100_000).default(CLIENTS_DEFAULT),
  connectTimeoutMs: z.number().int().min(100).max(120_000).default(CONNECT_TIMEOUT_MS_DEFAULT),
  keepaliveSecondsMax: z.number().int().min(1).max(3_600).default(KEEPALIVE_SECONDS_MAX_DEFAULT),
  drainTimeoutMs: z.number().int().min(100).max(120_000).default(DRAIN_TIMEOUT_MS_DEFAULT),
  queueLimit: z.number().int().min(1).max(10_000).default(QUEUE_PACKETS_DEFAULT),
  concurrency: z.number().int().min(1).max(10_000).default(CONCURRENCY_DEFAULT),
  packetBytesMax: z.number().int().min(256).max(1_048_576).default(PACKET_BYTES_MAX),
  messagesPerSecondPerDevice: z.number().int().min(1).max(1_000_000).default(MESSAGES_PER_SECOND_PER_DEVICE_MAX),
  messagesBurstPerDevice: z.number().int().min(1).max(1_000_000).default(MESSAGES_BURST_PER_DEVICE_MAX),
  inFlightPerDevice: z.number().int().min(1).max(100_000).default(IN_FLIGHT_MESSAGES_PER_DEVICE_DEFAULT),
  /** Where scheduled backups and the operator journal live (keep it off the data directory's disk). */
  backupDir: z.string().min(1).nullable().default(null),
  /** Seconds between scheduled backups (needs backupDir); null: no scheduled backups. */
  backupEverySeconds: z.number().int().min(BACKUP_EVERY_SECONDS_MIN).max(BACKUP_EVERY_SECONDS_MAX).nullable().default(null),
  /** Scheduled backups kept; older ones are deleted. */
  backupKeep: z.number().int().min(1).max(BACKUP_KEEP_MAX).default(BACKUP_KEEP_DEFAULT),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
}).superRefine((config, ctx) => {
  checkLimitOrder(config, ctx);
  const tls = config.tlsCertFile !== null;
  if (tls !== (config.tlsKeyFile !== null)) ctx.addIssue({ code: 'custom', path: ['tlsKeyFile'], message: 'give a TLS certificate and its key together (--tls-cert and --tls-key)' });
  if (!tls && config.tlsClientCaFile !== null) ctx.addIssue({ code: 'custom', path: ['tlsClientCaFile'], message: 'a client CA (--tls-client-ca) needs the TLS listeners (--tls-cert, --tls-key)' });
  if (config.backupEverySeconds !== null && config.backupDir === null) ctx.addIssue({ code: 'custom', path: ['backupEverySeconds'], message: 'scheduled backups (--backup-every) need --backup-dir' });
  if (config.operatorClientCert && config.tlsClientCaFile === null) ctx.addIssue({ code: 'custom', path: ['operatorClientCert'], message: 'requiring an operator client certificate needs --tls-client-ca' });
  // Connect tokens and the operator token would cross the network readable by anyone on it.
  const plaintext = config.mqttPort !== null || (config.httpPort !== null && !tls);
  if (plaintext && !isLoopbackHost(config.host) && !config.insecurePlaintext) {
    ctx.addIssue({ code: 'custom', path: ['host'], message: `a plain-text listener on ${config.host} (not loopback) needs --insecure-plaintext; give --tls-cert and --tls-key (and no --mqtt-port) to serve TLS only` });
  }
});

/** Default limits that contradict each other (a payment above the hour's limit) are a mistake: refuse them. */
function checkLimitOrder(config: { deviceMaxPerPaymentMicro: bigint | null; deviceMaxPerHourMicro: bigint | null; deviceMaxPerDayMicro: bigint | null }, ctx: z.RefinementCtx): void {
  const problem = limitOrderProblem({ maxPerPayment: config.deviceMaxPerPaymentMicro, maxPerHour: config.deviceMaxPerHourMicro, maxPerDay: config.deviceMaxPerDayMicro });
  if (problem !== null) ctx.addIssue({ code: 'custom', path: ['deviceMaxPerPaymentMicro'], message: `device limits: ${problem}` });
}

/** 127.0.0.0/8, ::1 and localhost: addresses no other machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export type BrokerConfigInput = z.input<typeof brokerConfigSchema>;
export type BrokerConfig = Readonly<z.output<typeof brokerConfigSchema>>;

export function brokerConfig(input: BrokerConfigInput): BrokerConfig {
  const result = brokerConfigSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new MqpayError('MESSAGE_INVALID', `config ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return Object.freeze(result.data);
}
