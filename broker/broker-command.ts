// `mqpay broker`: runs the MQTT host and settlement service until told to stop (SIGINT/SIGTERM
// in the bin). Its options also come from MQPAY_* variables and --config FILE
// (cli/config-layers.ts), checked as a whole by the broker's config schema before anything starts.
import { mkdirSync } from 'node:fs';
import { amountOf, formatAmount, parseAmount } from '../shared/amount.js';
import { checkCurrencyCode, DEFAULT_CURRENCY } from '../shared/currency.js';
import { integerOption, pathOf, requirePath, requireString, type Command, type CommandInput } from '../cli/command.js';
import { ConfigError } from '../cli/config-file.js';
import { configScope, withConfigLayers } from '../cli/config-layers.js';
import { MqpayError } from '../shared/errors.js';
import { brokerConfig, type BrokerConfigInput } from './config.js';
import { createBrokerApp, systemRandom } from './app.js';
import { durationSecondsOption } from '../cli/duration.js';
import { BACKUP_KEEP_DEFAULT, BACKUP_KEEP_MAX } from './limits.js';
import { CLOSE_WINDOW_SECONDS_DEFAULT, CLOSE_WINDOW_SECONDS_MAX, EPOCH_SECONDS_DEFAULT, FEE_PPM_MAX, MQTT_PORT_DEFAULT, MQTTS_PORT_DEFAULT } from './limits.js';
import { operatorHttpHandler } from './operator/http/operator-api.js';
import { resolveOperatorToken } from './operator/operator-token.js';

/** One line for an operator: which address could not be taken, and why. */
function listenFailure(error: unknown, host: string): string {
  const { code, port } = error as { code?: string; port?: number };
  const where = port === undefined ? host : `${host}:${port}`;
  if (code === 'EADDRINUSE') return `cannot listen on ${where}: the port is already in use (another broker running?)`;
  if (code === 'EACCES') return `cannot listen on ${where}: permission denied (ports below 1024 need privileges)`;
  if (code === 'EADDRNOTAVAIL') return `cannot listen on ${where}: no such address on this machine`;
  return `cannot listen on ${where}: ${error instanceof Error ? error.message : String(error)}`;
}

/** --device-max-* as micro-units (the configuration checks they are positive and in order). */
function deviceLimitDefaultsOf(input: CommandInput): Pick<BrokerConfigInput, 'deviceMaxPerPaymentMicro' | 'deviceMaxPerHourMicro' | 'deviceMaxPerDayMicro'> {
  const amount = (flag: string): bigint | null => {
    const value = input.values[flag];
    return typeof value === 'string' ? parseAmount(value) : null;
  };
  return { deviceMaxPerPaymentMicro: amount('device-max-per-payment'), deviceMaxPerHourMicro: amount('device-max-per-hour'), deviceMaxPerDayMicro: amount('device-max-per-day') };
}

/** The server-side limit defaults as the startup line shows them. */
function describeLimitDefaults(config: { deviceMaxPerPaymentMicro: bigint | null; deviceMaxPerHourMicro: bigint | null; deviceMaxPerDayMicro: bigint | null }): string {
  const named: [string, bigint | null][] = [['max-per-payment', config.deviceMaxPerPaymentMicro], ['max-per-hour', config.deviceMaxPerHourMicro], ['max-per-day', config.deviceMaxPerDayMicro]];
  const set = named.filter((entry): entry is [string, bigint] => entry[1] !== null).map(([name, micro]) => `${name} ${formatAmount(amountOf(micro))}`);
  return set.length === 0 ? 'no default device limits' : `default device limits: ${set.join(', ')}`;
}

/** The broker's configuration from the command's options (flags, environment, config file). */
function configInputOf(input: CommandInput, dataDir: string, operatorToken: string): BrokerConfigInput {
  const threshold = input.values['settle-threshold'];
  const path = (flag: string): string | null => {
    const value = input.values[flag];
    return typeof value === 'string' && value !== '' ? pathOf(input, flag, value) : null;
  };
  const tlsCertFile = path('tls-cert');
  return {
    dataDir,
    currency: typeof input.values.currency === 'string' ? checkCurrencyCode(input.values.currency) : null,
    host: requireString(input, 'host'),
    // With a certificate, plain text is off unless asked for by port.
    mqttPort: integerOption(input, 'mqtt-port', 0, 65535) ?? (tlsCertFile === null ? MQTT_PORT_DEFAULT : null),
    mqttsPort: integerOption(input, 'mqtts-port', 0, 65535) ?? MQTTS_PORT_DEFAULT,
    httpPort: integerOption(input, 'http-port', 0, 65535) ?? null,
    tlsCertFile,
    tlsKeyFile: path('tls-key'),
    tlsClientCaFile: path('tls-client-ca'),
    operatorClientCert: input.values['operator-client-cert'] === true,
    insecurePlaintext: input.values['insecure-plaintext'] === true,
    offersWildcard: input.values['offers-wildcard'] === true,
    voucherRetentionDays: integerOption(input, 'voucher-retention-days', 1, 36_500) ?? null,
    epochSeconds: integerOption(input, 'epoch-seconds', 1, 86_400) ?? EPOCH_SECONDS_DEFAULT,
    settleThresholdMicro: typeof threshold === 'string' ? parseAmount(threshold) : 0n,
    feePpm: integerOption(input, 'fee-ppm', 0, FEE_PPM_MAX) ?? 0,
    closeWindowSeconds: integerOption(input, 'close-window-seconds', 0, CLOSE_WINDOW_SECONDS_MAX) ?? CLOSE_WINDOW_SECONDS_DEFAULT,
    ...deviceLimitDefaultsOf(input),
    brokerId: requireString(input, 'broker-id'),
    operatorToken,
    backupDir: path('backup-dir'),
    backupEverySeconds: durationSecondsOption(input, 'backup-every'),
    backupKeep: integerOption(input, 'backup-keep', 1, BACKUP_KEEP_MAX) ?? BACKUP_KEEP_DEFAULT,
    logLevel: requireString(input, 'log-level') as never,
  };
}

/** A stand-in token for checking the rest of the configuration without reading or creating DATA/operator.token. */
const TOKEN_UNREAD = 'unread-operator-token-placeholder';

/**
 * The whole configuration checked once, as the broker would at start (ports, TLS pairs,
 * plain text off loopback...), for --print-config and before anything is created on disk.
 */
function checkBrokerConfig(input: CommandInput): void {
  const token = input.values['operator-token'];
  try {
    brokerConfig(configInputOf(input, requirePath(input, 'data'), typeof token === 'string' ? token : TOKEN_UNREAD));
  } catch (error) {
    if (error instanceof MqpayError && error.code === 'MESSAGE_INVALID') throw new ConfigError(`invalid broker configuration: ${error.detail ?? error.message}`);
    throw error;
  }
}

const brokerCommandPlain: Command = {
  name: ['broker'],
  summary: 'run the MQTT broker and settlement service',
  positionals: [],
  options: {
    data: { type: 'string', description: 'data directory (SQLite ledger, service key)' },
    host: { type: 'string', description: 'address to listen on', default: '127.0.0.1' },
    'mqtt-port': { type: 'string', description: `plain-text MQTT port (default ${MQTT_PORT_DEFAULT}; none with --tls-cert unless given)` },
    'mqtts-port': { type: 'string', description: 'MQTT over TLS port (with --tls-cert)', default: String(MQTTS_PORT_DEFAULT) },
    'http-port': { type: 'string', description: 'HTTP port (operator API and dashboard, /metrics, MQTT over WebSocket at /mqtt); HTTPS and WSS with --tls-cert' },
    'tls-cert': { type: 'string', description: 'PEM certificate chain for mqtts, HTTPS and WSS (re-read on SIGHUP or when the file changes)' },
    'tls-key': { type: 'string', description: 'PEM private key of --tls-cert' },
    'tls-client-ca': { type: 'string', description: 'mutual TLS: devices must present a certificate from this PEM CA whose CN is their device id' },
    'operator-client-cert': { type: 'boolean', description: 'the operator API and /metrics also require a client certificate from --tls-client-ca' },
    'insecure-plaintext': { type: 'boolean', description: 'allow plain-text listeners on a non-loopback --host (tokens and payments readable on the network)' },
    'voucher-retention-days': { type: 'string', description: 'delete settled vouchers older than this many days (never a channel\'s latest or an unsettled channel\'s); default: keep' },
    'offers-wildcard': { type: 'boolean', description: 'let devices subscribe to every seller\'s offers at once (mqpay/v1/offers/+)' },
    'epoch-seconds': { type: 'string', description: 'seconds between settlement epochs', default: String(EPOCH_SECONDS_DEFAULT) },
    'settle-threshold': { type: 'string', description: 'settle a channel early once this amount is unsettled (e.g. 5)' },
    'fee-ppm': { type: 'string', description: 'operator fee in parts per million of each settlement', default: '0' },
    'close-window-seconds': { type: 'string', description: 'dispute window of a payer\'s, operator\'s or expiry\'s close (0 settles at once)', default: String(CLOSE_WINDOW_SECONDS_DEFAULT) },
    'device-max-per-payment': { type: 'string', description: 'server-side limit of every device without its own (mqpay device limits): most one voucher may add, e.g. 0.5' },
    'device-max-per-hour': { type: 'string', description: 'server-side default: most a device may spend over the last hour (rolling)' },
    'device-max-per-day': { type: 'string', description: 'server-side default: most a device may spend over the last day (rolling); also the most one channel may hold unspent' },
    'broker-id': { type: 'string', description: 'broker id that connect tokens must name', default: 'mqpay' },
    currency: { type: 'string', description: `ISO 4217 code: a new ledger keeps it for ever (default ${DEFAULT_CURRENCY}); an existing ledger must already keep it, else the broker refuses to start` },
    'operator-token': { type: 'string', description: 'operator token (else $MQPAY_OPERATOR_TOKEN, else DATA/operator.token)' },
    'backup-dir': { type: 'string', description: 'directory for scheduled backups and the operator journal (put it on another disk than --data)' },
    'backup-every': { type: 'string', description: 'take a checked online backup this often, e.g. 15m, 1h, 30s (needs --backup-dir)' },
    'backup-keep': { type: 'string', description: 'scheduled backups kept in --backup-dir; older ones are deleted', default: String(BACKUP_KEEP_DEFAULT) },
    'log-level': { type: 'string', description: 'fatal|error|warn|info|debug|silent', default: 'info' },
  },
  async run(input) {
    const dataDir = requirePath(input, 'data');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const operatorToken = resolveOperatorToken(dataDir, input.values['operator-token'] as string | undefined, input.io.env.MQPAY_OPERATOR_TOKEN, systemRandom);
    const app = await createBrokerApp(configInputOf(input, dataDir, operatorToken), { httpHandler: operatorHttpHandler() });
    let ports: Awaited<ReturnType<typeof app.listen>>;
    try {
      ports = await app.listen();
    } catch (error) {
      // Fail fast and whole: close what did start (aedes, the verify worker, the ledger), so the
      // process ends with one clear line instead of living on with nothing listening.
      await app.close().catch(() => undefined);
      throw new Error(listenFailure(error, app.config.host));
    }
    const { mqttPort, mqttsPort, httpPort } = ports;
    const http = app.tls === null ? 'http' : 'https';
    const urls = [
      ...(mqttPort === null ? [] : [`mqtt://${app.config.host}:${mqttPort}`]),
      ...(mqttsPort === null ? [] : [`mqtts://${app.config.host}:${mqttsPort}`]),
      ...(httpPort === null ? [] : [`${http}://${app.config.host}:${httpPort} (MQTT over ${app.tls === null ? 'WebSocket' : 'secure WebSocket'} at /mqtt)`]),
    ];
    input.stdout(`mqpay broker "${app.config.brokerId}" listening: ${urls.join(', ')}`);
    if (httpPort !== null) input.stdout(`dashboard: ${http}://${app.config.host}:${httpPort}/  API: /api (OpenAPI at /api/openapi.json)  metrics: /metrics`);
    if (app.tls !== null) input.stdout(`TLS certificate sha256 ${app.tls.current.fingerprint256}, expires ${new Date(app.tls.current.notAfterMs).toISOString()}; reloaded on SIGHUP or when its files change`);
    // SIGHUP is the daemon convention for "re-read your files"; here it re-reads the certificate.
    const reload = () => {
      if (app.tls === null) return;
      const failure = app.tls.reload();
      if (failure !== null) input.stderr(`TLS reload failed, previous certificate kept: ${failure.message}`);
      else input.stdout(`TLS certificate reloaded: sha256 ${app.tls.current.fingerprint256}, expires ${new Date(app.tls.current.notAfterMs).toISOString()}`);
    };
    if (app.tls !== null) process.on('SIGHUP', reload);
    input.stdout(`service public key: ${app.servicePublicKeyHex}`);
    input.stdout(`data: ${dataDir}; settlement every ${app.config.epochSeconds} s; close window ${app.config.closeWindowSeconds} s; currency ${app.currency}; ${describeLimitDefaults(app.config)}`);
    if (app.config.backupDir !== null) input.stdout(`backups: ${app.config.backupDir}${app.backups === null ? ' (operator journal only; no --backup-every)' : `, every ${app.config.backupEverySeconds} s, keeping ${app.config.backupKeep}`}`);
    await input.io.untilStopped();
    process.off('SIGHUP', reload);
    await app.close();
    input.stdout('broker stopped; ledger flushed');
    return 0;
  },
};

/** Keys a broker config file may hold: every option of `mqpay broker`. */
const brokerScope = configScope([brokerCommandPlain], Object.keys(brokerCommandPlain.options), ['operator-token']);

export const brokerCommand: Command = withConfigLayers(brokerCommandPlain, brokerScope, checkBrokerConfig);
