// `mqpay cluster up` / `down`: a local cluster for development and tests [issue 15] in one
// directory: the store (a PostgreSQL started here, one given by --store, or a SQLite file when
// PostgreSQL is not installed), the HTTP auth service, a two-node RabbitMQ cluster pointing at it,
// and N workers. Every process is a detached child that outlives `up`; DIR/cluster.json records
// them, and `down` stops them in the reverse order (workers first, so they finish what they hold,
// the store last). A failure half-way stops what had started.
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CLUSTER_CHILD_START_TIMEOUT_MS, RABBIT_STOP_TIMEOUT_MS } from '../limits.js';
import { systemRandom } from '../app.js';
import { loadOrCreateServiceKeyFile } from '../service-key.js';
import { openStore, storeKindOf } from '../store/open-store.js';
import { logHas, portOpen, spawnDaemon, waitUntil } from './daemon.js';
import { freePort } from './free-port.js';
import { postgresMissingReason, startPostgres, stopPostgres } from './postgres-server.js';
import { startRabbitCluster, type RabbitCluster } from './rabbitmq/rabbit-cluster.js';
import { RABBIT_SERVER_BIN, rabbitInstalled } from './rabbitmq/rabbit-env.js';
import { readClusterState, removeClusterState, writeClusterState, type ClusterState } from './cluster-state.js';
import { isAlive, stopProcess } from './stop-process.js';

export interface ClusterUpOptions {
  /** Absolute. */
  readonly dir: string;
  readonly workers: number;
  /** An existing store; default: a PostgreSQL in DIR/postgres (a SQLite file if PostgreSQL is missing). */
  readonly storeUrl?: string;
  /** The mqpay script the children run (`node BIN worker ...`). */
  readonly bin: string;
  readonly brokerId: string;
  readonly operatorToken: string;
  readonly say: (line: string) => void;
  /** Added to every worker's command line (e.g. `--epoch-seconds 5` for the simulator). */
  readonly workerArgs?: readonly string[];
}

type Undo = (() => Promise<void>)[];

const logsOf = (dir: string, name: string): string => join(dir, 'logs', `${name}.log`);

export class ClusterRunningError extends Error {}

async function prepareStore(options: ClusterUpOptions, undo: Undo): Promise<ClusterState['store']> {
  let store: ClusterState['store'];
  if (options.storeUrl !== undefined) {
    store = { kind: storeKindOf(options.storeUrl), url: options.storeUrl, postgresDir: null };
  } else if (postgresMissingReason() === null) {
    const postgresDir = join(options.dir, 'postgres');
    const server = await startPostgres({ dir: postgresDir });
    undo.push(() => stopPostgres(postgresDir));
    store = { kind: 'postgres', url: server.url, postgresDir };
  } else {
    options.say(`PostgreSQL is not installed (${postgresMissingReason()}): using a SQLite ledger, one worker`);
    store = { kind: 'sqlite', url: join(options.dir, 'ledger.db'), postgresDir: null };
  }
  if (store.kind === 'sqlite' && options.workers > 1) throw new Error('a SQLite ledger takes one worker: use PostgreSQL (install postgresql, or give --store postgres://...) for more');
  // Creates (or migrates) the ledger once, before several processes open it at the same time.
  const opened = await openStore(store.url);
  await opened.close();
  return store;
}

async function startAuth(options: ClusterUpOptions, storeUrl: string, undo: Undo): Promise<ClusterState['auth']> {
  const port = await freePort();
  const logFile = logsOf(options.dir, 'auth');
  const pid = spawnDaemon({
    command: process.execPath, args: [options.bin, 'cluster', 'auth', '--store', storeUrl, '--port', String(port), '--broker-id', options.brokerId],
    // The token goes by the environment, not the command line that `ps` shows.
    env: { ...process.env, MQPAY_OPERATOR_TOKEN: options.operatorToken }, logFile, outliveParent: true,
  });
  undo.push(async () => void (await stopProcess(pid)));
  await waitUntil('the auth service', pid, logFile, CLUSTER_CHILD_START_TIMEOUT_MS, () => portOpen(port));
  return { pid, baseUrl: `http://127.0.0.1:${port}/auth` };
}

/** The usage text of `mqpay worker`, or null when this build has no such command. */
function workerHelp(bin: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, 'worker', '--help'], (error, stdout) => resolve(error === null && stdout.includes('usage: mqpay worker') ? stdout : null));
  });
}

async function startWorker(options: ClusterUpOptions, storeUrl: string, amqpUrls: readonly string[], index: number, extra: readonly string[], undo: Undo) {
  const id = `worker-${index}`;
  const log = logsOf(options.dir, id);
  const args = [options.bin, 'worker', '--amqp', amqpUrls.join(','), '--store', storeUrl, '--service-key', join(options.dir, 'service.key'), '--id', id, ...extra, ...(options.workerArgs ?? [])];
  // The token in the environment, not on the command line (visible to every user in ps): the
  // worker with --http-port serves the operator API with it.
  const pid = spawnDaemon({ command: process.execPath, args, env: { ...process.env, MQPAY_OPERATOR_TOKEN: options.operatorToken }, logFile: log, outliveParent: true });
  undo.push(async () => void (await stopProcess(pid)));
  await waitUntil(`worker ${id}`, pid, log, CLUSTER_CHILD_START_TIMEOUT_MS, () => logHas(log, /consuming/));
  return { id, pid, log };
}

/** The workers, and the operator API's URL when the leader serves one (a worker with --http-port). */
async function startWorkers(options: ClusterUpOptions, storeUrl: string, rabbit: RabbitCluster, undo: Undo): Promise<{ workers: ClusterState['workers']; apiUrl: string | null }> {
  if (options.workers === 0) return { workers: [], apiUrl: null };
  const help = await workerHelp(options.bin);
  if (help === null) {
    options.say(`no workers started: ${options.bin} has no \`worker\` command yet`);
    return { workers: [], apiUrl: null };
  }
  const httpPort = help.includes('--http-port') ? await freePort() : null;
  loadOrCreateServiceKeyFile(join(options.dir, 'service.key'), systemRandom);
  const urls = rabbit.nodes.map((node) => node.amqpUrl);
  const workers = [];
  // One at a time: the first declares the topology; each prefers another node (the list rotated).
  for (let index = 0; index < options.workers; index += 1) {
    const leader = index === 0 ? ['--leader', ...(httpPort === null ? [] : ['--http-port', String(httpPort)])] : [];
    workers.push(await startWorker(options, storeUrl, [...urls.slice(index % urls.length), ...urls.slice(0, index % urls.length)], index, leader, undo));
  }
  return { workers, apiUrl: httpPort === null ? null : `http://127.0.0.1:${httpPort}` };
}

const anyAlive = (state: ClusterState): boolean => [state.auth.pid, ...state.rabbit.map((node) => node.pid), ...state.workers.map((worker) => worker.pid)].some(isAlive);

export async function clusterUp(options: ClusterUpOptions): Promise<ClusterState> {
  if (!rabbitInstalled()) throw new Error(`RabbitMQ is not installed (${RABBIT_SERVER_BIN} missing): apt-get install rabbitmq-server (its system service is not needed)`);
  // Not 0700: PostgreSQL runs as its own user and must enter DIR; the secrets in it are 0600 files.
  mkdirSync(options.dir, { recursive: true, mode: 0o755 });
  const previous = readClusterState(options.dir);
  if (previous !== null && anyAlive(previous)) throw new ClusterRunningError(`a cluster is already running in ${options.dir} (mqpay cluster down --dir ${options.dir} first)`);
  if (previous !== null) await clusterDown(options.dir);
  const undo: Undo = [];
  try {
    const store = await prepareStore(options, undo);
    const auth = await startAuth(options, store.url, undo);
    // RabbitMQ's state is not kept across down/up (node names are fresh): the ledger is.
    rmSync(join(options.dir, 'rabbitmq'), { recursive: true, force: true });
    const rabbit = await startRabbitCluster({ dir: join(options.dir, 'rabbitmq'), authBaseUrl: auth.baseUrl, outliveParent: true });
    undo.push(() => rabbit.stop());
    const { workers, apiUrl } = await startWorkers(options, store.url, rabbit, undo);
    const state: ClusterState = {
      version: 1, startedAt: new Date().toISOString(), store, auth, workers,
      rabbit: rabbit.nodes.map((node) => ({ name: node.nodeName, pid: node.pid, mqttUrl: node.mqttUrl, amqpUrl: node.amqpUrl })),
      operator: { tokenFile: join(options.dir, 'operator.token'), apiUrl },
    };
    writeClusterState(options.dir, state);
    return state;
  } catch (error) {
    for (const step of undo.reverse()) await step().catch(() => undefined);
    throw error;
  }
}

/** Stops what the state file names; false when there was nothing to stop (safe to run twice). */
export async function clusterDown(dir: string): Promise<boolean> {
  const state = readClusterState(dir);
  if (state === null) return false;
  await Promise.all(state.workers.map((worker) => stopProcess(worker.pid)));
  for (const node of [...state.rabbit].reverse()) await stopProcess(node.pid, { timeoutMs: RABBIT_STOP_TIMEOUT_MS, group: true });
  await stopProcess(state.auth.pid);
  if (state.store.postgresDir !== null) await stopPostgres(state.store.postgresDir);
  removeClusterState(dir);
  return true;
}
