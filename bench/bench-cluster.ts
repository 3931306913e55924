// The cluster the cluster bench measures, on this machine: a durable PostgreSQL ledger, the HTTP
// auth service and the workers each in a process of their own (bench/cluster-role-worker.ts, so
// /proc tells their CPU apart), and a two-node RabbitMQ cluster, as `mqpay cluster up` lays them
// out (broker/cluster/cluster-up.ts). Workers are added one at a time, as `cluster up` starts
// them. Every process is stopped by `stop()`, also when the start failed half-way.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type PostgresServer } from '../broker/cluster/postgres-server.js';
import { startRabbitCluster, type RabbitCluster } from '../broker/cluster/rabbitmq/rabbit-cluster.js';
import { loadOrCreateServiceKeyFile } from '../broker/service-key.js';
import { systemRandom } from '../broker/app.js';
import { openStore, type OpenedStore } from '../broker/store/open-store.js';
import { OUTBOX_PARTITIONS_DEFAULT } from '../broker/limits.js';
import type { ClusterRole, RoleReady } from './cluster-role-worker.js';

/** A process of ours in the cluster: its pid (for /proc) and how to stop it. */
export interface RoleProcess { readonly name: string; readonly pid: number; readonly ready: RoleReady; stop(): Promise<void> }

export interface BenchCluster {
  readonly store: OpenedStore;
  readonly rabbit: RabbitCluster;
  readonly auth: RoleProcess;
  readonly workers: RoleProcess[];
  /** The postmaster's pid (its backends are its children). */
  readonly postgresPid: number;
  addWorker(): Promise<RoleProcess>;
  stop(): Promise<void>;
}

const ROLE_STOP_TIMEOUT_MS = 30_000;
export const BENCH_BROKER_ID = 'mqpay';

/** Forks a role and resolves once it is ready; rejects if it exits first. */
function startRole(name: string, job: ClusterRole): Promise<RoleProcess> {
  const child: ChildProcess = fork(new URL('./cluster-role-worker.mjs', import.meta.url), [], { serialization: 'advanced' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) child.send('stop');
    const timer = setTimeout(() => child.kill('SIGKILL'), ROLE_STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    child.once('message', (ready: RoleReady) => resolve({ name, pid: child.pid ?? 0, ready, stop }));
    void exited.then(() => reject(new Error(`${name} exited with ${child.exitCode ?? child.signalCode} before it was ready`)));
    child.send(job);
  });
}

const postmasterPid = (postgres: PostgresServer): number => Number(readFileSync(join(postgres.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);

export async function startBenchCluster(): Promise<BenchCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'mqpay-bench-cluster-'));
  const undo: (() => Promise<void>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
  const stop = async (): Promise<void> => {
    for (const step of undo.splice(0).reverse()) await step().catch((error: unknown) => console.error('cluster bench: stopping:', error));
  };
  try {
    const postgres = await startPostgres({ dir: join(dir, 'postgres') });
    undo.push(() => postgres.stop());
    // Creates the ledger once, before the auth service and the workers open it at the same time.
    const store = await openStore(postgres.url);
    undo.push(() => store.close());
    const auth = await startRole('auth service', { role: 'auth', storeUrl: postgres.url, brokerId: BENCH_BROKER_ID, operatorToken: randomBytes(24).toString('hex') });
    undo.push(() => auth.stop());
    const rabbit = await startRabbitCluster({ dir: join(dir, 'rabbitmq'), authBaseUrl: auth.ready.authBaseUrl ?? '' });
    undo.push(() => rabbit.stop());
    const serviceKeyFile = join(dir, 'service.key');
    loadOrCreateServiceKeyFile(serviceKeyFile, systemRandom);
    const workers: RoleProcess[] = [];
    const addWorker = async (): Promise<RoleProcess> => {
      const index = workers.length;
      const urls = rabbit.nodes.map((node) => node.amqpUrl);
      // Each worker prefers another node (the list rotated), as `cluster up` does.
      const amqpUrls = [...urls.slice(index % urls.length), ...urls.slice(0, index % urls.length)];
      const worker = await startRole(`worker ${index}`, { role: 'worker', storeUrl: postgres.url, amqpUrls, serviceKeyFile, partitions: OUTBOX_PARTITIONS_DEFAULT, id: `bench-worker-${index}` });
      workers.push(worker);
      // Workers stop before RabbitMQ and the store (the reverse order of the undo list).
      undo.push(() => worker.stop());
      return worker;
    };
    await addWorker();
    return { store, rabbit, auth, workers, postgresPid: postmasterPid(postgres), addWorker, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
