// The systemd units in deploy/: `systemd-analyze verify` accepts them without a warning (when
// this machine has it), their ExecStart command lines are ones the CLI accepts with the example
// config files, and they keep the sandbox the README promises.
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/broker-fixture.js';
import { runCli } from './helpers/ops-cli.js';

const UNITS = ['mqpay-broker.service', 'mqpay-agent@.service'] as const;
const dir = tempDir('mqpay-deploy-');
afterAll(() => dir.remove());

function run(file: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, [...args], { cwd: dir.path }, (error, stdout, stderr) => resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr }));
  });
}

const analyzeAvailable = await run('systemd-analyze', ['--version']).then((result) => result.code === 0);

/** `Key=value` lines of a unit's [Service] section, in order (a key may repeat). */
function serviceLines(unit: string): [string, string][] {
  const text = readFileSync(join('deploy', unit), 'utf8');
  const section = text.split(/^\[Service\]$/m)[1]?.split(/^\[/m)[0] ?? '';
  return section.split('\n').filter((line) => /^[A-Za-z]+=/.test(line)).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]);
}

const setting = (unit: string, key: string): string | undefined => serviceLines(unit).find(([name]) => name === key)?.[1];

describe('deploy/ systemd units', () => {
  it.skipIf(!analyzeAvailable)('systemd-analyze verify accepts both units without a warning', async () => {
    for (const unit of UNITS) {
      // verify also checks that ExecStart's program exists: point it at this node for the check.
      writeFileSync(join(dir.path, unit), readFileSync(join('deploy', unit), 'utf8').replaceAll('/usr/local/bin/mqpay', process.execPath));
    }
    copyFileSync(join(dir.path, 'mqpay-agent@.service'), join(dir.path, 'mqpay-agent@car-1.service'));
    for (const unit of ['mqpay-broker.service', 'mqpay-agent@car-1.service']) {
      const result = await run('systemd-analyze', ['verify', '--man=no', `./${unit}`]);
      expect(result.stderr.split('\n').filter((line) => line.includes(dir.path) || line.includes(unit)), result.stderr).toEqual([]);
      expect(result.code).toBe(0);
    }
  });

  it('their ExecStart lines run with the example config files', async () => {
    const broker = setting('mqpay-broker.service', 'ExecStart')?.split(' ') ?? [];
    expect(broker.slice(0, 4)).toEqual(['/usr/local/bin/mqpay', 'broker', '--config', '/etc/mqpay/broker.conf']);
    const brokerConfig = await runCli([...broker.slice(1, 3), 'deploy/broker.conf.example', '--print-config'], { MQPAY_DATA: join(dir.path, 'data') });
    expect(brokerConfig.stderr).toBe('');
    expect(brokerConfig.stdout).toMatch(/^host = 0\.0\.0\.0 +# .*deploy\/broker\.conf\.example line \d+$/m);
    expect(brokerConfig.stdout).toMatch(/^data = .*\/data +# MQPAY_DATA$/m);

    const agent = setting('mqpay-agent@.service', 'ExecStart')?.split(' ') ?? [];
    expect(agent.slice(0, 5)).toEqual(['/usr/local/bin/mqpay', 'agent', 'run', '--config', '/etc/mqpay/agent-%i.conf']);
    const agentConfig = await runCli([...agent.slice(1, 4), 'deploy/agent.conf.example', '--print-config'], { MQPAY_HOME: join(dir.path, 'car-1') });
    expect(agentConfig.stderr).toBe('');
    expect(agentConfig.stdout).toMatch(/^broker = mqtt:\/\/broker\.local:1883 +# .*deploy\/agent\.conf\.example line \d+$/m);
  });

  it('keep the sandbox, a clean SIGTERM stop and the agent within a 512 MB Pi', () => {
    for (const unit of UNITS) {
      for (const [key, value] of [['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'], ['NoNewPrivileges', 'yes'], ['Restart', 'on-failure'], ['KillSignal', 'SIGTERM'], ['User', 'mqpay'], ['RestrictAddressFamilies', 'AF_INET AF_INET6 AF_UNIX']] as const) {
        expect(setting(unit, key), `${unit} ${key}`).toBe(value);
      }
      expect(setting(unit, 'StateDirectory'), unit).toBeDefined();
      expect(setting(unit, 'ReadWritePaths'), unit).toBeDefined();
      // V8's JIT needs writable executable memory: this setting would crash node.
      expect(setting(unit, 'MemoryDenyWriteExecute'), unit).toBeUndefined();
    }
    const megabytes = (text: string | undefined) => Number(/^(\d+)M$/.exec(text ?? '')?.[1] ?? Number.NaN);
    expect(megabytes(setting('mqpay-agent@.service', 'MemoryMax'))).toBeLessThanOrEqual(192);
    expect(megabytes(setting('mqpay-agent@.service', 'MemoryHigh'))).toBeLessThan(megabytes(setting('mqpay-agent@.service', 'MemoryMax')));
  });
});
