// The state file of a local cluster (DIR/cluster.json, mode 0600: it holds the store URL and the
// workers' AMQP password): what `mqpay cluster up` started, so `mqpay cluster down` can stop it
// from another process. Written once everything is up; removed by `down`.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CLUSTER_STATE_FILE = 'cluster.json';
const STATE_VERSION = 1;

export interface ClusterState {
  readonly version: typeof STATE_VERSION;
  readonly startedAt: string;
  readonly store: { readonly kind: 'sqlite' | 'postgres'; readonly url: string; /** A PostgreSQL `up` started (and `down` stops); null for one given by --store. */ readonly postgresDir: string | null };
  readonly auth: { readonly pid: number; readonly baseUrl: string };
  readonly rabbit: readonly { readonly name: string; readonly pid: number; readonly mqttUrl: string; readonly amqpUrl: string }[];
  readonly workers: readonly { readonly id: string; readonly pid: number; readonly log: string }[];
  readonly operator: { readonly tokenFile: string; readonly apiUrl: string | null };
}

export const statePath = (dir: string): string => join(dir, CLUSTER_STATE_FILE);

export function writeClusterState(dir: string, state: ClusterState): void {
  const temporary = `${statePath(dir)}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, statePath(dir));
}

export function readClusterState(dir: string): ClusterState | null {
  if (!existsSync(statePath(dir))) return null;
  const state = JSON.parse(readFileSync(statePath(dir), 'utf8')) as ClusterState;
  if (state.version !== STATE_VERSION) throw new Error(`${statePath(dir)} has version ${String(state.version)}, not ${STATE_VERSION}`);
  return state;
}

export function removeClusterState(dir: string): void {
  rmSync(statePath(dir), { force: true });
}
