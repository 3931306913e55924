// The agent through the `mqpay` commands, as an operator would use them: init prints the
// public key last, the admin CLI enrols and funds it, `agent run` serves as payee, `agent pay`
// exits 0 once accepted and non-zero with the error code otherwise, `agent status` reads the
// local state (also while `agent run` holds it).
// The commands run in-process through `main` (output captured), except `agent run`: it is the
// built bin in a child process, because what it checks is per process: the home lock names its
// holder by pid (a second agent in the same process would take the lock over, so "already
// running" can only be seen from another process), and SIGTERM must end it with exit 0.
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, tempDir, type RunningBroker } from './helpers/broker-fixture.js';
import { freePort, NETWORK_POLL } from './helpers/agent-fixture.js';
import { runCli } from './helpers/ops-cli.js';

const mqpay = (...args: string[]) => runCli(args);
const lastLine = (text: string): string => text.trim().split('\n').pop() ?? '';

describe('mqpay agent commands', () => {
  const dir = tempDir('mqpay-agent-cli-');
  const brokerDir = join(dir.path, 'broker');
  const carHome = join(dir.path, 'car');
  const chargerHome = join(dir.path, 'charger');
  let broker: RunningBroker;

  beforeAll(async () => {
    broker = await startBroker({}, brokerDir);
  });
  afterAll(async () => {
    await broker.stop();
    dir.remove();
  });

  async function initAndEnrol(home: string, id: string, extra: string[] = []): Promise<string> {
    const init = await mqpay('agent', 'init', '--home', home, '--id', id, '--service-key-file', join(brokerDir, 'service.pub'), ...extra);
    expect(init.code).toBe(0);
    const publicKey = lastLine(init.stdout);
    expect(publicKey).toMatch(/^[0-9a-f]{64}$/);
    expect((await mqpay('device', 'add', id, '--public-key', publicKey, '--data', brokerDir)).code).toBe(0);
    return publicKey;
  }

  it('inits, pays through a running payee, reports status, and refuses with clear codes', async () => {
    await initAndEnrol(carHome, 'car-20', ['--max-per-payment', '1', '--deposit', '2']);
    await initAndEnrol(chargerHome, 'charger-20');
    expect(statSync(join(carHome, 'key')).mode & 0o777).toBe(0o600);
    expect((await mqpay('wallet', 'fund', 'car-20', '10', '--data', brokerDir, '--id', 'grant-20')).code).toBe(0);
    const again = await mqpay('agent', 'init', '--home', carHome, '--id', 'car-20');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('HOME_EXISTS');
    // No broker named anywhere: a usage error that says what to pass, not a malformed message.
    const nowhere = await mqpay('agent', 'pay', 'charger-20', '0.1', '--home', carHome);
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toContain(`no broker to connect to: pass --broker URL (e.g. mqtt://broker.local:1883), or set brokerUrl in ${carHome}/agent.json`);

    const payee = spawn(process.execPath, ['dist/mqpay.js', 'agent', 'run', '--home', chargerHome, '--broker', broker.url, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    payee.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => payee.once('exit', (code) => resolve(code)));
    try {
      await expect.poll(() => log, NETWORK_POLL).toContain('"msg":"connected"');
      const paid = await mqpay('agent', 'pay', 'charger-20', '0.25', '--home', carHome, '--broker', broker.url, '--receipt');
      expect(paid.stderr).toBe('');
      expect(paid.code).toBe(0);
      expect(paid.stdout).toContain('paid 0.25 to charger-20: accepted as seq 1, channel total 0.25');
      expect(paid.stdout).toContain('receipt from charger-20 for seq 1');
      await expect.poll(() => log, NETWORK_POLL).toContain('"msg":"payment received"');
      expect(log).toContain('"amount":"0.25"');

      const refused = await mqpay('agent', 'pay', 'charger-20', '1.5', '--home', carHome, '--broker', broker.url);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('POLICY_MAX_PER_PAYMENT');
      const unknown = await mqpay('agent', 'pay', 'nobody-20', '0.1', '--home', carHome, '--broker', broker.url);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('DEVICE_UNKNOWN');

      const status = JSON.parse((await mqpay('agent', 'status', '--home', carHome, '--json')).stdout) as Record<string, unknown>;
      expect(status).toMatchObject({ device: 'car-20', pendingVouchers: 0, paying: [{ payee: 'charger-20', state: 'open', deposit: '2', signedSeq: '1', acceptedSeq: '1', receiptSeq: '1' }, { payee: 'nobody-20', state: 'failed' }] });
      const payeeStatus = await mqpay('agent', 'status', '--home', chargerHome);
      expect(payeeStatus.code).toBe(0);
      expect(payeeStatus.stdout).toMatch(/from car-20 {2}open {2}deposit 2 {2}received #1 0\.25/);
      const busy = await mqpay('agent', 'pay', 'car-20', '0.1', '--home', chargerHome, '--broker', broker.url);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toContain('already running');
    } finally {
      payee.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(log).toContain('"msg":"stopping"');
  });

  it('fails with a clear message when the broker cannot be reached', async () => {
    const home = join(dir.path, 'lonely');
    await initAndEnrol(home, 'lonely-20');
    const port = await freePort();
    const failed = await mqpay('agent', 'pay', 'charger-20', '0.1', '--home', home, '--broker', `mqtt://127.0.0.1:${port}`, '--timeout-ms', '500');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('SERVICE_UNAVAILABLE');
    expect(failed.stderr).toContain('broker unreachable');
    // A broker that answers and refuses (the device is not enrolled there) is not "unreachable".
    const stranger = join(dir.path, 'stranger');
    expect((await mqpay('agent', 'init', '--home', stranger, '--id', 'stranger-20', '--service-key-file', join(brokerDir, 'service.pub'))).code).toBe(0);
    const refused = await mqpay('agent', 'pay', 'charger-20', '0.1', '--home', stranger, '--broker', broker.url, '--timeout-ms', '500', '--log-level', 'warn');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('broker refused the connection (device not enrolled, or its connect token refused)');
    expect(refused.stderr).toContain('error NOT_AUTHORIZED');
    expect(refused.stderr).not.toContain('broker unreachable; reconnecting');
    const usage = await mqpay('agent', 'pay', 'charger-20', '0.1', '--home', home, '--broker', 'http://example.com');
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain('mqtt://');
  });
});
