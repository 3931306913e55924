// Config files and MQPAY_* environment variables for `mqpay broker` and the agent commands:
// flags override the environment, which overrides the file, which overrides the defaults; the
// merged options are validated once (a key no command of the family knows is refused in one
// line naming the key, the file and the line); --print-config shows the result with secrets
// redacted. Through the same `main` the bin calls; the broker really starts from a config file.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/broker-fixture.js';
import { runCli, startCli } from './helpers/ops-cli.js';

const dir = tempDir('mqpay-config-');
afterAll(() => dir.remove());

function configFile(name: string, lines: readonly string[]): string {
  const path = join(dir.path, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** The `key = value  # origin` line of one key in --print-config's output. */
function printed(stdout: string, key: string): { value: string; from: string } | null {
  const line = stdout.split('\n').find((text) => text.startsWith(`${key} = `));
  const match = line === undefined ? null : /^\S+ = (.*?)\s+# (.*)$/.exec(line);
  return match === null ? null : { value: match[1] ?? '', from: match[2] ?? '' };
}

const SECRET = 'file-secret-operator-token-0123456789';

describe('broker configuration', () => {
  const data = join(dir.path, 'broker-data');
  const file = configFile('broker.conf', [
    '# the broker of the test',
    `data = ${data}`,
    'http-port = 8080',
    'fee-ppm = 5',
    'epoch-seconds = 30',
    `operator-token = "${SECRET}"`,
  ]);

  it('flags > environment > file > defaults, secrets redacted', async () => {
    const result = await runCli(['broker', '--config', file, '--fee-ppm', '9', '--print-config'], { MQPAY_HTTP_PORT: '9090', MQPAY_FEE_PPM: '7' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('# mqpay broker: flags > environment (MQPAY_*) > --config file > defaults');
    expect(printed(result.stdout, 'fee-ppm')).toEqual({ value: '9', from: 'flag' });
    expect(printed(result.stdout, 'http-port')).toEqual({ value: '9090', from: 'MQPAY_HTTP_PORT' });
    expect(printed(result.stdout, 'epoch-seconds')).toEqual({ value: '30', from: `${file} line 5` });
    expect(printed(result.stdout, 'data')).toEqual({ value: data, from: `${file} line 2` });
    expect(printed(result.stdout, 'broker-id')).toEqual({ value: 'mqpay', from: 'default' });
    expect(printed(result.stdout, 'operator-token')).toEqual({ value: '(redacted)', from: `${file} line 6` });
    expect(result.stdout).toContain('# tls-cert =');
    expect(result.stdout).not.toContain(SECRET);
    const fromEnv = await runCli(['broker', '--config', file, '--print-config'], { MQPAY_OPERATOR_TOKEN: 'env-secret-operator-token-0123456789' });
    expect(printed(fromEnv.stdout, 'operator-token')).toEqual({ value: '(redacted)', from: 'MQPAY_OPERATOR_TOKEN' });
    expect(fromEnv.stdout).not.toContain('env-secret');
  });

  it('the broker starts from the file and the environment alone', async () => {
    const broker = startCli(['broker', '--config', file], { MQPAY_MQTT_PORT: '0', MQPAY_HTTP_PORT: '0', MQPAY_LOG_LEVEL: 'silent' });
    await broker.waitFor('close window');
    expect(broker.stdout()).toContain(`data: ${data}; settlement every 30 s`);
    const base = /listening: mqtt:\/\/127\.0\.0\.1:\d+, (http:\/\/127\.0\.0\.1:\d+)/.exec(broker.stdout())?.[1] ?? '';
    expect(base).not.toBe('');
    // The operator token is the file's: the API takes it.
    const check = await runCli(['ledger', 'check', '--url', base], { MQPAY_OPERATOR_TOKEN: SECRET });
    expect(check.code, check.stderr).toBe(0);
    expect(await broker.stop()).toBe(0);
  });

  it('refuses an unknown key, a malformed line and a bad value, each in one line naming where', async () => {
    const typo = configFile('typo.conf', [`data = ${data}`, 'htp-port = 8080']);
    const unknown = await runCli(['broker', '--config', typo]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(unknown.stderr).toMatch(new RegExp(`^error: unknown key "htp-port" in ${typo} line 2 \\(known keys: data, host, mqtt-port, `));
    const malformed = await runCli(['broker', '--config', configFile('malformed.conf', ['[broker]'])]);
    expect(malformed.stderr).toBe(`error: ${join(dir.path, 'malformed.conf')} line 1: expected "key = value" (keys are option names such as http-port), got "[broker]"\n`);
    const flag = await runCli(['broker', '--config', file, '--print-config'], { MQPAY_OFFERS_WILDCARD: 'yes' });
    expect(flag.code).toBe(1);
    expect(flag.stderr).toBe('error: environment variable MQPAY_OFFERS_WILDCARD: offers-wildcard must be true or false\n');
    const missing = await runCli(['broker', '--config', join(dir.path, 'nowhere.conf')]);
    expect(missing.stderr).toBe(`error: cannot read config file ${join(dir.path, 'nowhere.conf')}: no such file\n`);
    // The broker's own rules run on the merged options before anything is printed or created.
    const halfTls = await runCli(['broker', '--config', file, '--tls-key', join(dir.path, 'key.pem'), '--print-config']);
    expect(halfTls.code).toBe(1);
    expect(halfTls.stderr).toBe('error: invalid broker configuration: config tlsKeyFile: give a TLS certificate and its key together (--tls-cert and --tls-key)\n');
  });
});

describe('agent configuration', () => {
  const home = join(dir.path, 'car');
  const file = configFile('agent.conf', [`home = ${home}`, 'broker = mqtt://broker.local:1883', 'log-level = info', 'offer-unit = Wh', 'timeout-ms = 20000']);

  it('one file serves every agent command; flags > environment > file', async () => {
    expect((await runCli(['agent', 'init', '--home', home, '--id', 'car-40'])).code).toBe(0);
    const pay = await runCli(['agent', 'pay', 'charger-40', '1', '--config', file, '--log-level', 'debug', '--print-config'], { MQPAY_BROKER: 'mqtt://127.0.0.1:1883' });
    expect(pay.code, pay.stderr).toBe(0);
    expect(printed(pay.stdout, 'home')).toEqual({ value: home, from: `${file} line 1` });
    expect(printed(pay.stdout, 'broker')).toEqual({ value: 'mqtt://127.0.0.1:1883', from: 'MQPAY_BROKER' });
    expect(printed(pay.stdout, 'log-level')).toEqual({ value: 'debug', from: 'flag' });
    expect(printed(pay.stdout, 'timeout-ms')).toEqual({ value: '20000', from: `${file} line 5` });
    expect(printed(pay.stdout, 'broker-id')).toBeNull();
    // `agent status` has no --offer-unit: the family's file is accepted, the key ignored.
    const status = await runCli(['agent', 'status', '--config', file]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('car-40');
    const fromEnv = await runCli(['agent', 'status'], { MQPAY_HOME: home });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    const stray = await runCli(['agent', 'status', '--config', configFile('stray.conf', [`home = ${home}`, 'memo = hello'])]);
    expect(stray.code).toBe(1);
    expect(stray.stderr).toMatch(/^error: unknown key "memo" in .*stray\.conf line 2 \(known keys: home, broker, broker-id, log-level, offer-unit, offer-price, timeout-ms\)\n$/);
    const level = await runCli(['agent', 'run', '--print-config'], { MQPAY_HOME: home, MQPAY_LOG_LEVEL: 'loud' });
    expect(level.code).toBe(2);
    expect(level.stderr).toContain('--log-level must be one of');
  });
});
