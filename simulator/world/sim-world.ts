// The world a run happens in: a data directory (the broker's ledger and service key), a home
// per honest device, the enrolled and funded fleet, the broker child process on a fixed
// loopback port, the fault proxy in front of it, and a read-only view of the ledger.
//
// Device homes go on tmpfs (/dev/shm) when the machine has one: in the field every device
// syncs its own flash, while here hundreds of devices would queue their fsyncs on one disk and
// the run would measure that disk instead of mqpay. The broker's ledger stays on disk.
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../shared/hex.js';
import type { RandomBytes } from '../../shared/ids.js';
import type { SimPlan } from '../plan/plan.js';
import { BrokerLog } from './broker-log.js';
import { BrokerProcess } from './broker-process.js';
import { checkFreshDataDir, enrolFleet, type Enrolment } from './enrolment.js';
import { FaultProxy } from './fault-proxy.js';
import { freePort } from './free-port.js';
import { LedgerReader } from './ledger-reader.js';

export const SIM_BROKER_ID = 'mqpay';
export const OPERATOR_TOKEN_BYTES = 24;

export interface WorldOptions {
  /** null: a fresh temporary directory, removed after a successful run. */
  readonly dataDir: string | null;
  readonly epochSeconds: number;
  /** HTTP port for the broker's operator API; null: none. 0: a free one. */
  readonly httpPort: number | null;
  readonly brokerEntry: string;
}

/** What the run sees of the service, whether one broker process or a cluster's workers. */
export interface ServiceHandle {
  readonly up: boolean;
  /** Incremented at every (re)start: an attack that saw two generations was interrupted. */
  readonly generation: number;
  readonly unexpectedExits: number;
  whenUp(timeoutMs: number): Promise<boolean>;
  rssBytes(): number | null;
  /** A clean stop at wind-down (a cluster keeps its workers settling until the verdict). */
  stop(): Promise<void>;
}

/** Where device connections can be cut. */
export interface DropPoint {
  drop(device: string): boolean;
  close(): Promise<void>;
}

/** The cluster behind a world (run/cluster-world.ts); null for the embedded broker. */
export interface ClusterSide {
  /** Stops the cluster (`cluster down`) and removes what the run made (its data too, when asked). */
  close(removeData: boolean): Promise<void>;
}

export interface World {
  readonly cluster: ClusterSide | null;
  readonly dataDir: string;
  readonly temporary: boolean;
  /** The device homes; removed with the world. */
  readonly agentsDir: string;
  readonly enrolment: Enrolment;
  readonly operatorToken: string;
  readonly mqttPort: number;
  readonly httpPort: number | null;
  readonly brokerLog: BrokerLog;
  readonly broker: ServiceHandle;
  /** The broker process that `--kill-broker-every` kills; null in a cluster. */
  readonly brokerProcess: BrokerProcess | null;
  readonly proxy: DropPoint;
  /** Where an honest agent connects (through the fault proxy): one URL, or a list to fail over along. */
  agentUrl(device: string): string;
  /** Where rogues connect (straight to the broker). */
  readonly brokerUrl: string;
  readonly ledger: LedgerReader;
}

function dataDirOf(options: WorldOptions): { dataDir: string; temporary: boolean } {
  if (options.dataDir === null) return { dataDir: mkdtempSync(join(tmpdir(), 'mqpay-sim-')), temporary: true };
  checkFreshDataDir(options.dataDir);
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  return { dataDir: options.dataDir, temporary: false };
}

const SHARED_MEMORY_DIR = '/dev/shm';

export function agentsDirOf(dataDir: string): string {
  try {
    if (existsSync(SHARED_MEMORY_DIR)) {
      accessSync(SHARED_MEMORY_DIR, constants.W_OK);
      return mkdtempSync(join(SHARED_MEMORY_DIR, 'mqpay-sim-agents-'));
    }
  } catch {
    // not writable: fall back to the data directory
  }
  const dir = join(dataDir, 'agents');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

export async function buildWorld(plan: SimPlan, options: WorldOptions, random: RandomBytes, nowMs: number): Promise<World & { readonly brokerProcess: BrokerProcess }> {
  const { dataDir, temporary } = dataDirOf(options);
  const agentsDir = agentsDirOf(dataDir);
  const enrolment = enrolFleet({ dataDir, agentsDir, devices: plan.fleet.devices, brokerId: SIM_BROKER_ID, random, nowMs });
  const operatorToken = toHex(random(OPERATOR_TOKEN_BYTES));
  const mqttPort = await freePort();
  const httpPort = options.httpPort === 0 ? await freePort() : options.httpPort;
  const brokerLog = new BrokerLog();
  const broker = new BrokerProcess({ entry: options.brokerEntry, dataDir, mqttPort, httpPort, epochSeconds: options.epochSeconds, operatorToken, log: brokerLog });
  await broker.start();
  const proxy = new FaultProxy(mqttPort);
  const proxyPort = await proxy.listen();
  return {
    cluster: null, dataDir, temporary, agentsDir, enrolment, operatorToken, mqttPort, httpPort, brokerLog, broker, brokerProcess: broker, proxy,
    agentUrl: () => `mqtt://127.0.0.1:${proxyPort}`, brokerUrl: `mqtt://127.0.0.1:${mqttPort}`, ledger: LedgerReader.sqlite(dataDir),
  };
}

/** Stops what is still running; removes the device homes, and a temporary data directory when asked. */
export async function closeWorld(world: World, removeData: boolean): Promise<void> {
  world.ledger.close();
  if (world.cluster !== null) return world.cluster.close(removeData);
  await world.proxy.close();
  await world.broker.stop();
  rmSync(world.agentsDir, { recursive: true, force: true });
  if (removeData && world.temporary) rmSync(world.dataDir, { recursive: true, force: true });
}
