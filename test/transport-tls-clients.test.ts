// Clients that are not ours, over TLS to a real broker with certificates from `openssl`:
// Mosquitto's `mosquitto_sub` reads the operator stream over mqtts with the operator token (and
// refuses a broker it cannot verify), and headless Chromium loads the dashboard over HTTPS,
// trusting exactly the broker's key (an SPKI pin), not any certificate at all.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR_TOKEN, tempDir } from './helpers/broker-fixture.js';
import { startOpsBroker, type OpsBroker } from './helpers/ops-fixture.js';
import { haveOpenssl, TestCa, warnMissing, type CertFiles } from './helpers/test-pki.js';

const MOSQUITTO_SUB = '/usr/bin/mosquitto_sub';
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const haveMosquitto = existsSync(MOSQUITTO_SUB);
const haveChromium = existsSync(CHROMIUM);
if (!haveOpenssl) warnMissing('/usr/bin/openssl', 'openssl', 'the TLS client tests');
if (!haveMosquitto) warnMissing(MOSQUITTO_SUB, 'mosquitto-clients', 'the mosquitto_sub over TLS test');
if (!haveChromium) warnMissing(CHROMIUM, 'chromium', 'the dashboard over HTTPS test');

describe.skipIf(!haveOpenssl)('TLS with third-party clients', () => {
  const pki = tempDir('mqpay-pki-');
  let ca: TestCa;
  let otherCa: TestCa;
  let serverCert: CertFiles;
  let broker: OpsBroker;

  beforeAll(async () => {
    ca = new TestCa(pki.path, 'mqpay-test-ca');
    otherCa = new TestCa(pki.path, 'other-ca');
    serverCert = ca.issue({ cn: 'localhost', server: true, name: 'broker' });
    broker = await startOpsBroker({ tlsCertFile: serverCert.cert, tlsKeyFile: serverCert.key, mqttsPort: 0 });
  });
  afterAll(async () => {
    await broker?.stop();
    pki.remove();
  });

  it.skipIf(!haveMosquitto)('mosquitto_sub reads the ops stream over TLS with the operator token', async () => {
    const clientId = 'ops:mosquitto'; // not a device id: an operator can never take a device's session
    // Synchronise on the broker seeing the subscription, not on a delay.
    const subscribed = new Promise<void>((resolve) => {
      const onSubscribe = (_subscriptions: unknown, client: { id: string } | null) => {
        if (client?.id !== clientId) return;
        broker.app.mqtt.aedes.off('subscribe', onSubscribe);
        resolve();
      };
      broker.app.mqtt.aedes.on('subscribe', onSubscribe);
    });
    const sub = spawn(MOSQUITTO_SUB, ['-h', 'localhost', '-p', String(broker.mqttsPort), '--cafile', ca.files.cert, '-V', 'mqttv311',
      '-i', clientId, '-u', 'operator', '-P', OPERATOR_TOKEN, '-t', 'mqpay/v1/ops/events', '-C', '1', '-W', '20']);
    let stdout = '';
    let stderr = '';
    sub.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    sub.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const exited = new Promise<number | null>((resolve) => sub.on('close', resolve));
    await Promise.race([subscribed, exited.then((code) => {
      throw new Error(`mosquitto_sub exited (${code}) before subscribing: ${stderr}`);
    })]);
    // A device connecting is an ops event; mosquitto_sub prints it and exits (-C 1).
    await broker.link('car-1', broker.enrol('car-1'));
    expect(await exited, stderr).toBe(0);
    expect(JSON.parse(stdout.trim())).toMatchObject({ type: 'device.connected', device: 'car-1' });
  });

  it.skipIf(!haveMosquitto)('mosquitto_sub refuses a broker whose certificate another CA issued', async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(MOSQUITTO_SUB, ['-h', 'localhost', '-p', String(broker.mqttsPort), '--cafile', otherCa.files.cert, '-V', 'mqttv311',
        '-i', 'ops:wrong-ca', '-u', 'operator', '-P', OPERATOR_TOKEN, '-t', 'mqpay/v1/ops/events', '-C', '1', '-W', '10'], (error, _stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stderr });
      });
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/certificate verify failed|TLS error/i);
  });

  describe.skipIf(!haveChromium)('the dashboard over HTTPS in headless Chromium', () => {
    let browser: Browser;
    afterAll(async () => {
      await browser?.close();
    });

    it('loads over https:// trusting only the broker key, and takes the operator token', async () => {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${serverCert.spkiSha256Base64}`] });
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));
      const response = await page.goto(`https://localhost:${broker.httpPort}/`);
      expect(response?.status()).toBe(200);
      expect(new URL(page.url()).protocol).toBe('https:');
      await page.locator('#token-gate').waitFor({ state: 'visible' });
      await page.fill('#token-input', OPERATOR_TOKEN);
      await page.click('#token-submit');
      await page.locator('#dashboard').waitFor({ state: 'visible' });
      expect(pageErrors).toEqual([]);
    }, 60_000);

    it('without the pin, Chromium refuses the certificate (it is not trusted by accident)', async () => {
      const strict = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
      try {
        const page = await strict.newPage();
        await expect(page.goto(`https://localhost:${broker.httpPort}/`)).rejects.toThrow(/ERR_CERT_AUTHORITY_INVALID/);
      } finally {
        await strict.close();
      }
    }, 60_000);
  });
});
