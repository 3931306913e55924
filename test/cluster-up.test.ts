// `mqpay cluster up` / `down` for real: PostgreSQL (when installed), the auth service, two
// RabbitMQ nodes and a worker as detached children; an operator logs in over MQTT at node B with
// the printed token (the auth wiring through the child processes), and uses the operator API the
// worker serves over PostgreSQL (enrol, summary, the CLI over --url, the dashboard page); `down` leaves nothing running
// and is safe twice. Skipped, with the reason, when RabbitMQ is not installed.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readClusterState } from '../broker/cluster/cluster-state.js';
import { isAlive } from '../broker/cluster/stop-process.js';
import { tryConnect } from './helpers/broker-adversary.js';
import { runCli } from './helpers/ops-cli.js';
import { rabbitSkipReason } from './helpers/rabbit-cluster.js';
import { random } from './helpers/broker-fixture.js';
import { toHex } from '../shared/hex.js';
import { generateKeyPair } from '../shared/keys.js';

/** The cluster's operator API answers with the token: a device enrolled over it is listed by the CLI over --url; the dashboard page loads. */
async function expectOperatorApi(base: string, token: string, env: Record<string, string | undefined>): Promise<void> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  expect((await fetch(`${base}/api/summary`)).status).toBe(401);
  const enrol = await fetch(`${base}/api/devices`, { method: 'POST', headers, body: JSON.stringify({ id: 'meter.1', publicKey: toHex(generateKeyPair(random).publicKey) }) });
  expect(enrol.status, await enrol.clone().text()).toBe(201);
  const summary = await (await fetch(`${base}/api/summary`, { headers })).json() as { devices: { enrolled: number } };
  expect(summary.devices.enrolled).toBe(1);
  const devices = await runCli(['devices', '--url', base, '--token', token], env);
  expect(devices.stdout, devices.stderr).toMatch(/\nmeter\.1\s+active\s+offline\s+0\s+/);
  const page = await fetch(`${base}/`);
  expect([page.status, page.headers.get('content-type')]).toEqual([200, expect.stringMatching(/^text\/html/)]);
}

describe.skipIf(rabbitSkipReason !== null)(`mqpay cluster up / down ${rabbitSkipReason ?? ''}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mqpay-cluster-up-'));
  // PostgreSQL runs as its own user and must enter the directory.
  chmodSync(dir, 0o755);
  const env = { PATH: process.env.PATH };
  afterAll(async () => {
    try {
      await runCli(['cluster', 'down', '--dir', dir], env);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('starts the cluster, prints both MQTT URLs and the operator token, and refuses a second up', async () => {
    const up = await runCli(['cluster', 'up', '--dir', dir, '--workers', '1'], env);
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    const urls = [...up.stdout.matchAll(/MQTT node [AB]: +(mqtt:\/\/127\.0\.0\.1:\d+)/g)].map((match) => match[1]!);
    expect(urls).toHaveLength(2);
    const token = /token ([0-9a-f]{48})/.exec(up.stdout)![1]!;
    expect(up.stdout).toMatch(/workers: +1 \(worker-0 runs settlement\)/);
    const state = readClusterState(dir)!;
    expect([state.auth.pid, ...state.rabbit.map((node) => node.pid), ...state.workers.map((worker) => worker.pid)].every(isAlive)).toBe(true);

    const operator = await tryConnect(urls[1]!, { clientId: 'ops:watch', username: 'operator', password: token });
    expect(operator.connected).toBe(true);
    expect((await operator.client.subscribeAsync('mqpay/v1/ops/#', { qos: 1 })).map((grant) => grant.qos)).toEqual([1]);
    await operator.client.endAsync();
    const wrong = await tryConnect(urls[0]!, { clientId: 'ops:watch', username: 'operator', password: `${token}x` });
    expect(wrong.connected).toBe(false);

    // The operator API and dashboard, served by worker-0 over the cluster's PostgreSQL ledger.
    const apiUrl = /operator API: +(http:\/\/127\.0\.0\.1:\d+)/.exec(up.stdout)?.[1];
    expect(apiUrl, up.stdout).toBe(state.operator.apiUrl);
    await expectOperatorApi(apiUrl!, token, env);

    const again = await runCli(['cluster', 'up', '--dir', dir], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already running/);
  }, 240_000);

  it('down stops every process it started, and a second down says there is nothing to stop', async () => {
    const state = readClusterState(dir)!;
    const down = await runCli(['cluster', 'down', '--dir', dir], env);
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/stopped/);
    expect([state.auth.pid, ...state.rabbit.map((node) => node.pid), ...state.workers.map((worker) => worker.pid)].some(isAlive)).toBe(false);
    expect(readClusterState(dir)).toBeNull();
    const twice = await runCli(['cluster', 'down', '--dir', dir], env);
    expect(twice.code).toBe(0);
    expect(twice.stdout).toMatch(/no cluster running/);
  }, 120_000);
});
