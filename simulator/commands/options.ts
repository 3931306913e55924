// Command-line options of `mqpay sim` and `mqpay demo`, checked once and turned into SimOptions.
import { integerOption, pathOf, UsageError, type CommandInput, type OptionSpec } from '../../cli/command.js';
import type { SimOptions } from '../run/run.js';
import { defaultBrokerEntry } from '../world/broker-process.js';

export const SIM_DEFAULTS = { devices: 50, durationS: 30, seed: 1, epochSeconds: 5, drainTimeoutMs: 60_000, clusterWorkers: 2, settleTimeoutMs: 60_000 } as const;

export const commonOptions: Readonly<Record<string, OptionSpec>> = {
  devices: { type: 'string', description: 'devices in the fleet (honest and malicious)' },
  seed: { type: 'string', description: 'seed of the fleet, schedule and faults' },
  malicious: { type: 'string', description: 'malicious devices among them' },
  'kill-broker-every': { type: 'string', description: 'SIGKILL and restart the broker every SECONDS' },
  'drop-rate': { type: 'string', description: 'probability per second per device of a dropped connection (e.g. 0.01)' },
  'epoch-seconds': { type: 'string', description: 'settlement epoch of the broker', default: String(SIM_DEFAULTS.epochSeconds) },
  data: { type: 'string', description: 'data directory (must be new or empty); default: a temporary one' },
};

function probability(input: CommandInput, flag: string): number {
  const value = input.values[flag];
  if (value === undefined) return 0;
  if (typeof value !== 'string' || !/^(0(\.[0-9]{1,9})?|1(\.0{1,9})?)$/.test(value)) throw new UsageError(`--${flag} must be a probability between 0 and 1, like 0.01`);
  return Number(value);
}

function stringOption(input: CommandInput, flag: string): string | null {
  const value = input.values[flag];
  return typeof value === 'string' && value !== '' ? value : null;
}

/** `--data`, as given (the world resolves it); a URL is refused like any path flag's. */
function dataDirOption(input: CommandInput): string | null {
  const value = stringOption(input, 'data');
  if (value !== null) pathOf(input, 'data', value);
  return value;
}

export interface SimDefaults {
  readonly devices: number;
  readonly durationMs: number;
  readonly malicious: number;
  readonly dropRate: number;
  readonly httpPort: number | null;
  readonly intensity: number;
}

export function simOptionsOf(input: CommandInput, defaults: SimDefaults): SimOptions {
  const devices = integerOption(input, 'devices', 2, 100_000) ?? defaults.devices;
  const malicious = integerOption(input, 'malicious', 0, 10_000) ?? Math.min(defaults.malicious, Math.max(0, devices - 2));
  if (malicious > devices - 2) throw new UsageError('--malicious must leave at least 2 honest devices');
  const duration = integerOption(input, 'duration', 1, 86_400);
  return {
    seed: integerOption(input, 'seed', 0, 0xffff_ffff) ?? SIM_DEFAULTS.seed,
    devices, malicious,
    durationMs: duration === undefined ? defaults.durationMs : duration * 1000,
    killBrokerEverySeconds: integerOption(input, 'kill-broker-every', 1, 86_400) ?? null,
    dropRate: input.values['drop-rate'] === undefined ? defaults.dropRate : probability(input, 'drop-rate'),
    intensity: defaults.intensity,
    dataDir: dataDirOption(input),
    epochSeconds: integerOption(input, 'epoch-seconds', 1, 86_400) ?? SIM_DEFAULTS.epochSeconds,
    httpPort: integerOption(input, 'http-port', 0, 65_535) ?? defaults.httpPort,
    brokerEntry: defaultBrokerEntry(),
    drainTimeoutMs: SIM_DEFAULTS.drainTimeoutMs,
    ...clusterOptionsOf(input),
  };
}

/** `sim`'s cluster options: --cluster, its --workers and --kill-worker-every (which need it). */
export const clusterOptions: Readonly<Record<string, OptionSpec>> = {
  cluster: { type: 'boolean', description: 'run against a local cluster started for the run (`mqpay cluster up` in a temporary directory: PostgreSQL, auth service, two RabbitMQ nodes, workers) instead of one broker' },
  workers: { type: 'string', description: `with --cluster: workers to start (default ${SIM_DEFAULTS.clusterWorkers})` },
  'kill-worker-every': { type: 'string', description: 'with --cluster: SIGKILL a worker every SECONDS (each in turn) and start a replacement' },
  'stop-node-every': { type: 'string', description: 'with --cluster: stop RabbitMQ node B every SECONDS and start it again' },
  'restart-postgres-every': { type: 'string', description: 'with --cluster: stop PostgreSQL every SECONDS and start it again' },
};

const CLUSTER_FAULT_FLAGS = ['kill-worker-every', 'stop-node-every', 'restart-postgres-every'] as const;

function clusterOptionsOf(input: CommandInput): Pick<SimOptions, 'cluster' | 'killWorkerEverySeconds' | 'stopNodeEverySeconds' | 'restartPostgresEverySeconds'> {
  const [killWorkerEverySeconds, stopNodeEverySeconds, restartPostgresEverySeconds] = CLUSTER_FAULT_FLAGS.map((flag) => integerOption(input, flag, 1, 86_400) ?? null);
  const workers = integerOption(input, 'workers', 1, 16);
  if (input.values.cluster !== true) {
    const misplaced = [...CLUSTER_FAULT_FLAGS, 'workers'].find((flag) => input.values[flag] !== undefined);
    if (misplaced !== undefined) throw new UsageError(`--${misplaced} needs --cluster`);
    return { cluster: null };
  }
  for (const flag of ['kill-broker-every', 'data', 'http-port']) {
    if (input.values[flag] !== undefined) throw new UsageError(`--${flag} is for the embedded broker, not --cluster (its faults: ${CLUSTER_FAULT_FLAGS.map((name) => `--${name}`).join(', ')})`);
  }
  return {
    cluster: { workers: workers ?? SIM_DEFAULTS.clusterWorkers, settleTimeoutMs: SIM_DEFAULTS.settleTimeoutMs },
    killWorkerEverySeconds: killWorkerEverySeconds ?? null, stopNodeEverySeconds: stopNodeEverySeconds ?? null, restartPostgresEverySeconds: restartPostgresEverySeconds ?? null,
  };
}
