// `mqpay sim --cluster` quit at once [issue 15]: a second Ctrl-C exits with 130 without waiting for
// `cluster down`, and nothing the run started outlives it: the workers, the RabbitMQ nodes and
// the auth service are SIGKILLed by process group, and PostgreSQL gets an immediate shutdown
// (simulator/run/cluster-world.ts). Every pid is read from the cluster's state file and the
// postmaster's pid file while the run is going, then watched until it is gone (a zombie counts
// as gone: it has exited and only waits for its new parent to reap it).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readClusterState } from '../broker/cluster/cluster-state.js';
import { postmasterPidOf } from '../broker/cluster/postgres-server.js';
import { POSTGRES_MISSING } from './helpers/postgres.js';
import { rabbitSkipReason } from './helpers/rabbit-cluster.js';

const ARGS = ['--cluster', '--devices', '2', '--duration', '600', '--seed', '5', '--epoch-seconds', '2'];
/** Cluster start (~30 s on two shared cores) and the exits. */
const TEST_TIMEOUT_MS = 180_000;
const GONE_POLL = { timeout: 30_000, interval: 100 } as const;

/** Whether `pid` is a live process (not absent, not a zombie). */
function alive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  try {
    // The state follows the command name in parentheses: "pid (comm) S ...".
    const text = readFileSync(stat, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false; // gone between the two reads
  }
}

const skipReason = rabbitSkipReason ?? (POSTGRES_MISSING === null ? null : `(skipped: ${POSTGRES_MISSING})`);

describe.skipIf(skipReason !== null)(`mqpay sim --cluster quit with a second Ctrl-C ${skipReason ?? ''}`, () => {
  it('exits with 130 and leaves no worker, RabbitMQ node, auth service or PostgreSQL running', async () => {
    const child = spawn(process.execPath, ['dist/mqpay.js', 'sim', ...ARGS], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let dir: string | null = null;
    try {
      await expect.poll(() => /cluster up .*\(data (\S+)\)/.exec(output)?.[1] ?? (child.exitCode === null ? null : 'exited'), { timeout: TEST_TIMEOUT_MS - GONE_POLL.timeout * 2, interval: 100 }).not.toBeNull();
      dir = /cluster up .*\(data (\S+)\)/.exec(output)?.[1] ?? null;
      expect(dir, output).not.toBeNull();
      const state = readClusterState(dir ?? '');
      const postgresDir = state?.store.postgresDir ?? null;
      const postmaster = postgresDir === null ? null : postmasterPidOf(postgresDir);
      expect(postmaster, 'the run started its own PostgreSQL').not.toBeNull();
      const pids = [...(state?.workers ?? []).map((worker) => worker.pid), ...(state?.rabbit ?? []).map((node) => node.pid), state?.auth.pid ?? 0, postmaster ?? 0];
      expect(pids.filter(alive)).toEqual(pids);
      expect(pids.length).toBe(2 + 2 + 1 + 1); // two workers, two nodes, the auth service, the postmaster

      child.kill('SIGINT');
      await expect.poll(() => output.includes('Ctrl-C again to quit at once'), GONE_POLL).toBe(true);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      await expect.poll(() => pids.filter(alive), GONE_POLL).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      if (dir !== null) rmSync(dir, { recursive: true, force: true });
    }
  }, TEST_TIMEOUT_MS);
});
