// `mqpay cluster up --dir DIR [--workers N]` and `mqpay cluster down --dir DIR` (cluster-up.ts).
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { integerOption, requirePath, UsageError, type Command } from '../../cli/command.js';
import { systemRandom } from '../app.js';
import { CLUSTER_WORKERS_MAX } from '../limits.js';
import { resolveOperatorToken } from '../operator/operator-token.js';
import { ClusterRunningError, clusterDown, clusterUp } from './cluster-up.js';
import type { ClusterState } from './cluster-state.js';
import { storeKindOf } from '../store/open-store.js';

/**
 * The launcher beside this code when it runs bundled (dist/mqpay-cli.js is loaded by
 * dist/mqpay.js); from sources (tests), the built one at the project's root.
 */
function defaultBin(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.js') ? join(dirname(here), 'mqpay.js') : resolve(dirname(here), '..', '..', 'dist', 'mqpay.js');
}

/** A URL as printed: its password hidden (the state file, mode 0600, keeps it). */
const withoutPassword = (url: string): string => url.replace(/^([a-z]+:\/\/[^:/@]+:)[^@]*@/i, '$1***@');

function report(state: ClusterState, dir: string, token: string, say: (line: string) => void): void {
  say(`mqpay cluster up in ${dir}`);
  say(`  store:        ${state.store.kind} ${withoutPassword(state.store.url)}${state.store.postgresDir === null ? '' : ` (PostgreSQL in ${state.store.postgresDir})`}`);
  say(`  auth service: ${state.auth.baseUrl}`);
  state.rabbit.forEach((node, index) => say(`  MQTT node ${String.fromCharCode(65 + index)}:  ${node.mqttUrl}  (${node.name})`));
  const leader = state.workers.length > 0 ? ` (${state.workers[0]!.id} runs settlement)` : '';
  say(`  workers:      ${state.workers.length}${leader}; logs in ${dir}/logs`);
  say(`  operator:     token ${token} (in ${state.operator.tokenFile}); MQTT login username "operator"`);
  say(`  operator API: ${state.operator.apiUrl ?? 'not served (no worker offers --http-port)'}`);
  say(`stop it with: mqpay cluster down --dir ${dir}`);
}

export const clusterUpCommand: Command = {
  name: ['cluster', 'up'],
  summary: 'start a local mqpay cluster for development and tests: PostgreSQL, the auth service, a two-node RabbitMQ cluster (MQTT on both nodes) and N workers, left running in the background (needs Debian\'s rabbitmq-server; postgresql, else a SQLite ledger)',
  positionals: [],
  options: {
    dir: { type: 'string', description: 'directory of the cluster: data, logs, and cluster.json (what `cluster down` stops)' },
    workers: { type: 'string', description: `settlement workers to start (0-${CLUSTER_WORKERS_MAX}; the first is the settlement leader)`, default: '1' },
    store: { type: 'string', description: 'use this ledger instead of starting PostgreSQL: postgres://... or a SQLite file (one worker)' },
    'broker-id': { type: 'string', description: 'broker id that devices\' connect tokens must name', default: 'mqpay' },
    'operator-token': { type: 'string', description: 'operator token (else $MQPAY_OPERATOR_TOKEN, else DIR/operator.token, created)' },
    bin: { type: 'string', description: 'the mqpay script the children run (default: this one, or dist/mqpay.js from sources)' },
  },
  async run(input) {
    const dir = requirePath(input, 'dir');
    const workers = integerOption(input, 'workers', 0, CLUSTER_WORKERS_MAX) ?? 1;
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const token = resolveOperatorToken(dir, input.values['operator-token'] as string | undefined, input.io.env.MQPAY_OPERATOR_TOKEN, systemRandom);
    const store = input.values.store as string | undefined;
    try {
      const state = await clusterUp({
        dir, workers, bin: typeof input.values.bin === 'string' ? resolve(input.io.cwd, input.values.bin) : defaultBin(),
        brokerId: input.values['broker-id'] as string, operatorToken: token, say: input.stdout,
        ...(store === undefined ? {} : { storeUrl: storeKindOf(store) === 'postgres' ? store : resolve(input.io.cwd, store) }),
      });
      report(state, dir, token, input.stdout);
      return 0;
    } catch (error) {
      if (error instanceof ClusterRunningError) throw new UsageError(error.message);
      throw error;
    }
  },
};

export const clusterDownCommand: Command = {
  name: ['cluster', 'down'],
  summary: 'stop what `mqpay cluster up --dir DIR` started (workers first, the store last); data and logs stay in DIR; safe to run twice',
  positionals: [],
  options: {
    dir: { type: 'string', description: 'the directory given to `cluster up`' },
  },
  async run(input) {
    const dir = requirePath(input, 'dir');
    input.stdout((await clusterDown(dir)) ? `cluster in ${dir} stopped` : `no cluster running in ${dir}`);
    return 0;
  },
};
