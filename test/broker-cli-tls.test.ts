// `mqpay broker` and the network: plain text off loopback needs --insecure-plaintext (and then
// warns), TLS alone needs nothing more, and a certificate that does not match its key fails at
// start. In-process through main(argv, io), as the bin runs it.
import { copyFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR_TOKEN, tempDir } from './helpers/broker-fixture.js';
import { runCli, startCli } from './helpers/ops-cli.js';
import { haveOpenssl, TestCa, warnMissing, type CertFiles } from './helpers/test-pki.js';

if (!haveOpenssl) warnMissing('/usr/bin/openssl', 'openssl', 'the broker TLS command-line tests');

const env = { MQPAY_OPERATOR_TOKEN: OPERATOR_TOKEN };

describe('mqpay broker: plain text stays on loopback unless asked', () => {
  const dir = tempDir('mqpay-cli-tls-');
  afterAll(() => dir.remove());

  it('a plain-text bind to a non-loopback address without --insecure-plaintext exits with a clear error', async () => {
    const result = await runCli(['broker', '--data', `${dir.path}/a`, '--host', '0.0.0.0', '--mqtt-port', '0', '--log-level', 'silent'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('a plain-text listener on 0.0.0.0 (not loopback) needs --insecure-plaintext');
    expect(result.stdout).not.toContain('listening');
  });

  it('with --insecure-plaintext it starts (the warning goes to the broker log)', async () => {
    const run = startCli(['broker', '--data', `${dir.path}/c`, '--host', '0.0.0.0', '--mqtt-port', '0', '--insecure-plaintext', '--log-level', 'warn'], env);
    await run.waitFor(/listening: mqtt:\/\/0\.0\.0\.0:\d+/);
    expect(await run.stop()).toBe(0);
  });

  it('the demo default (127.0.0.1) needs no flag', async () => {
    const run = startCli(['broker', '--data', `${dir.path}/d`, '--mqtt-port', '0', '--log-level', 'silent'], env);
    await run.waitFor(/listening: mqtt:\/\/127\.0\.0\.1:\d+$/m);
    expect(await run.stop()).toBe(0);
  });
});

describe.skipIf(!haveOpenssl)('mqpay broker with --tls-cert', () => {
  const dir = tempDir('mqpay-cli-tls-');
  let server: CertFiles;
  let other: CertFiles;
  beforeAll(() => {
    const ca = new TestCa(dir.path, 'cli-ca');
    server = ca.issue({ cn: 'localhost', server: true, name: 'broker' });
    other = ca.issue({ cn: 'localhost', server: true, name: 'other' });
  });
  afterAll(() => dir.remove());

  it('serves only TLS on a non-loopback address without --insecure-plaintext', async () => {
    const run = startCli(['broker', '--data', `${dir.path}/e`, '--host', '0.0.0.0', '--mqtts-port', '0', '--http-port', '0', '--tls-cert', server.cert, '--tls-key', server.key, '--log-level', 'silent'], env);
    await run.waitFor(/listening: mqtts:\/\/0\.0\.0\.0:\d+, https:\/\/0\.0\.0\.0:\d+ \(MQTT over secure WebSocket at \/mqtt\)/);
    expect(run.stdout()).not.toContain('mqtt://');
    expect(run.stdout()).toContain(`TLS certificate sha256 ${server.fingerprint256}`);
    expect(await run.stop()).toBe(0);
  });

  it('refuses a certificate with the wrong key, and a certificate without a key, at start', async () => {
    const mismatch = await runCli(['broker', '--data', `${dir.path}/f`, '--mqtts-port', '0', '--tls-cert', server.cert, '--tls-key', other.key, '--log-level', 'silent'], env);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/key values mismatch/);
    const alone = await runCli(['broker', '--data', `${dir.path}/g`, '--mqtts-port', '0', '--tls-cert', server.cert, '--log-level', 'silent'], env);
    expect(alone.code).toBe(1);
    expect(alone.stderr).toContain('give a TLS certificate and its key together');
  });
});

describe.skipIf(!haveOpenssl)('mqpay broker: SIGHUP re-reads the certificate', () => {
  const dir = tempDir('mqpay-cli-hup-');
  afterAll(() => dir.remove());

  it('reloads a new pair on SIGHUP, and keeps the old one when the new pair does not load', async () => {
    const ca = new TestCa(dir.path, 'hup-ca');
    const first = ca.issue({ cn: 'localhost', server: true, name: 'first' });
    const second = ca.issue({ cn: 'localhost', server: true, name: 'second' });
    const live = { cert: `${dir.path}/live.pem`, key: `${dir.path}/live.key` };
    copyFileSync(first.cert, live.cert);
    copyFileSync(first.key, live.key);
    const run = startCli(['broker', '--data', `${dir.path}/data`, '--mqtts-port', '0', '--tls-cert', live.cert, '--tls-key', live.key, '--log-level', 'silent'], env);
    try {
      await run.waitFor(`TLS certificate sha256 ${first.fingerprint256}`);
      // A certificate whose key is not there yet: the reload fails and says so; the old pair stays.
      copyFileSync(second.cert, live.cert);
      process.emit('SIGHUP', 'SIGHUP');
      await run.waitFor('TLS reload failed, previous certificate kept', 'stderr');
      copyFileSync(second.key, live.key);
      // The bin's SIGHUP is a process signal; emitting it runs the same handler in this process.
      process.emit('SIGHUP', 'SIGHUP');
      await run.waitFor(`TLS certificate reloaded: sha256 ${second.fingerprint256}`);
    } finally {
      expect(await run.stop()).toBe(0);
    }
    expect(process.listenerCount('SIGHUP')).toBe(0);
  });
});
