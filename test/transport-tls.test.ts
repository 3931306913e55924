// Transport security with real certificates: a CA, a broker certificate and device certificates
// made at test time with Debian's `openssl`, real TLS handshakes from MQTT.js (the agent's link),
// a real broker on loopback and real SQLite files. Covers: an agent paying over mqtts with the
// broker CA stored by `agent init --broker-ca` (and another with a pinned fingerprint); wrong
// CA, wrong pin, expired certificate and plain text on either side refused with clear errors;
// mutual TLS (another device's certificate refused even with a valid token); a certificate
// swapped on disk served without a restart, its expiry in /metrics.
import { once } from 'node:events';
import { copyFileSync, readFileSync, renameSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import mqtt from 'mqtt';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../agent/agent.js';
import { DeviceLink } from '../agent/link/link.js';
import type { LinkTls } from '../agent/link/link-stream.js';
import { operatorHttpHandler } from '../broker/operator/http/operator-api.js';
import type { BrokerConfigInput } from '../broker/config.js';
import { addDevice, setDeviceStatus } from '../broker/store/sqlite/devices.js';
import { fundWallet } from '../broker/store/sqlite/ledger.js';
import { parseAmount } from '../shared/amount.js';
import { signConnectPassword } from '../shared/connect-token.js';
import { sign } from '../shared/crypto.js';
import { fromHex, toHex } from '../shared/hex.js';
import { generateKeyPair, type KeyPair } from '../shared/keys.js';
import { AgentBed, NETWORK_POLL, TEST_AGENT_TIMING } from './helpers/agent-fixture.js';
import { OPERATOR_TOKEN, random, startBroker, tempDir, type RunningBroker, type StartBrokerOptions } from './helpers/broker-fixture.js';
import { runCli } from './helpers/ops-cli.js';
import { haveOpenssl, TestCa, warnMissing, type CertFiles } from './helpers/test-pki.js';

if (!haveOpenssl) warnMissing('/usr/bin/openssl', 'openssl', 'the TLS tests');

/** Broker log lines, kept as parsed JSON, with a wait that wakes on each new line. */
function capturedLog(): { logger: Logger; waitFor(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> } {
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  const logger = pino({ level: 'info' }, { write(text: string) {
    lines.push(JSON.parse(text) as Record<string, unknown>);
    for (const wake of [...waiters]) wake();
  } });
  return {
    logger,
    waitFor(match) {
      return new Promise((resolve) => {
        const check = () => {
          const found = lines.find(match);
          if (found === undefined) return;
          waiters.delete(check);
          resolve(found);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Connects a device link (signed connect token) with the given TLS settings; the error message if refused. */
async function tryLink(broker: RunningBroker, url: string, device: string, keys: KeyPair, tls: LinkTls): Promise<{ link: DeviceLink | null; error: string | null }> {
  try {
    const link = await DeviceLink.connect({ url, device, secretKey: keys.secretKey, brokerId: broker.app.config.brokerId, clock: { nowMs: () => Date.now() }, random, tls, connectTimeoutMs: 5_000 });
    return { link, error: null };
  } catch (error) {
    return { link: null, error: (error as Error).message };
  }
}

/** The certificate a TLS server presents now (a new handshake each call). */
async function servedFingerprint(port: number, ca: string): Promise<string> {
  const socket = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(ca), servername: 'localhost' });
  await once(socket, 'secureConnect');
  const fingerprint = socket.getPeerCertificate().fingerprint256;
  socket.destroy();
  return fingerprint;
}

function httpsGet(url: string, ca: string, token: string, client?: CertFiles): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const identity = client === undefined ? {} : { cert: readFileSync(client.cert), key: readFileSync(client.key) };
    const request = httpsRequest(url, { ca: readFileSync(ca), ...identity, headers: { authorization: `Bearer ${token}` } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => { body += chunk; });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

describe.skipIf(!haveOpenssl)('transport security (TLS with certificates from openssl)', () => {
  const pki = tempDir('mqpay-pki-');
  let ca: TestCa;
  let otherCa: TestCa;
  let deviceCa: TestCa;
  let serverCert: CertFiles;
  let expiredCert: CertFiles;
  const tlsConfig = (cert: CertFiles = serverCert): Partial<BrokerConfigInput> => ({ tlsCertFile: cert.cert, tlsKeyFile: cert.key, mqttsPort: 0 });

  beforeAll(() => {
    ca = new TestCa(pki.path, 'mqpay-test-ca');
    otherCa = new TestCa(pki.path, 'other-ca');
    deviceCa = new TestCa(pki.path, 'device-ca');
    serverCert = ca.issue({ cn: 'localhost', server: true, name: 'broker' });
    expiredCert = ca.issue({ cn: 'localhost', server: true, name: 'broker-expired', days: -1 });
  });
  afterAll(() => pki.remove());

  describe('an agent over mqtts', () => {
    let broker: RunningBroker;
    let bed: AgentBed;
    beforeAll(async () => {
      // No plain-text listener at all: whatever connects, connects over TLS.
      broker = await startBroker({ ...tlsConfig(), mqttPort: null });
      bed = new AgentBed(broker);
    });
    afterAll(async () => {
      await bed.cleanup();
      await broker.stop();
    });

    it('pays with the broker CA stored by `agent init --broker-ca`; the payee trusts a pinned fingerprint', async () => {
      const url = `mqtts://localhost:${broker.mqttsPort}`;
      const home = join(pki.path, 'car-1-home');
      const init = await runCli(['agent', 'init', '--home', home, '--id', 'car-1', '--broker', url, '--broker-ca', ca.files.cert, '--service-key', broker.app.servicePublicKeyHex]);
      expect(init.stderr).toBe('');
      expect(init.code).toBe(0);
      expect(init.stdout).toContain('broker TLS: CA stored; mqtts:// only');
      expect(JSON.parse(readFileSync(join(home, 'agent.json'), 'utf8')).tls.brokerCa).toBe(readFileSync(ca.files.cert, 'utf8'));
      addDevice(broker.app.db, 'car-1', fromHex(init.stdout.trim().split('\n').pop() ?? ''), Date.now());
      fundWallet(broker.app.db, 'car-1', parseAmount('5'), 'car-1:tls-test', Date.now());

      const chargerHome = bed.home('charger-1', { config: { tls: { brokerCertSha256: serverCert.fingerprint256 } } });
      const charger = await bed.start(chargerHome, { brokerUrl: `mqtts://127.0.0.1:${broker.mqttsPort}` });
      const received: bigint[] = [];
      charger.onPayment((payment) => { received.push(payment.amount); });
      // No broker URL given: the agent uses the mqtts:// one init stored in agent.json.
      const car = await createAgent({ home, ...TEST_AGENT_TIMING });
      try {
        const payment = await car.pay('charger-1', '0.25', { receipt: true });
        expect(payment).toMatchObject({ payee: 'charger-1', seq: 1n, total: 250_000n });
        expect(payment.receipt).toMatchObject({ seq: 1n, total: 250_000n });
        await expect.poll(() => received, NETWORK_POLL).toEqual([250_000n]);
      } finally {
        await car.stop();
      }
    });

    it('refuses a broker certificate from the wrong CA, under the wrong pin, or expired, saying why', async () => {
      const keys = broker.enrol('car-2');
      const url = `mqtts://localhost:${broker.mqttsPort}`;
      const wrongCa = await tryLink(broker, url, 'car-2', keys, { ca: readFileSync(otherCa.files.cert, 'utf8') });
      expect(wrongCa.error).toMatch(/TLS to localhost:\d+ failed \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/);
      expect(wrongCa.error).toContain('trusting the broker CA in agent.json');
      const wrongPin = await tryLink(broker, url, 'car-2', keys, { certSha256: otherCa.files.fingerprint256 });
      expect(wrongPin.error).toContain(`has sha256 ${serverCert.fingerprint256}, not the pinned ${otherCa.files.fingerprint256}`);

      const stale = await startBroker({ ...tlsConfig(expiredCert), mqttPort: null });
      try {
        const staleKeys = stale.enrol('car-2');
        const expired = await tryLink(stale, `mqtts://localhost:${stale.mqttsPort}`, 'car-2', staleKeys, { ca: readFileSync(ca.files.cert, 'utf8') });
        expect(expired.error).toMatch(/TLS to localhost:\d+ failed \(CERT_HAS_EXPIRED/);
      } finally {
        await stale.stop();
      }
    });

    it('never falls back to plain text: TLS trust with an mqtt:// URL is refused at start', async () => {
      const home = bed.home('car-3', { config: { tls: { brokerCa: readFileSync(ca.files.cert, 'utf8') } } });
      await expect(createAgent({ home, brokerUrl: `mqtt://localhost:${broker.mqttsPort}`, ...TEST_AGENT_TIMING })).rejects.toThrow(/plain text: use mqtts:\/\//);
    });
  });

  describe('plain text and TLS crossed', () => {
    it('a plain-text client on the mqtts port is refused by the handshake, and the broker logs why', async () => {
      const log = capturedLog();
      const broker = await startBroker(tlsConfig(), undefined, { logger: log.logger });
      try {
        const socket = netConnect({ host: '127.0.0.1', port: broker.mqttsPort ?? 0 });
        await once(socket, 'connect');
        // An MQTT 3.1.1 CONNECT (client id "x") in clear, as `mqtt://` would send it.
        socket.end(Buffer.from('101300044d5154540402003c000178', 'hex'));
        const refused = await log.waitFor((line) => line.msg === 'TLS handshake refused');
        expect(String(refused.err)).toMatch(/wrong version number|http request|unknown protocol|packet length too long/i);
        await once(socket, 'close');
        // And an mqtts:// client on the plain port fails with a TLS error, not a plain session.
        const keys = broker.enrol('car-4');
        const crossed = await tryLink(broker, `mqtts://localhost:${broker.mqttPort}`, 'car-4', keys, { ca: readFileSync(ca.files.cert, 'utf8') });
        expect(crossed.error).toMatch(/TLS to localhost:\d+ failed/);
      } finally {
        await broker.stop();
      }
    });
  });

  describe('mutual TLS (--tls-client-ca)', () => {
    let broker: RunningBroker;
    let log: ReturnType<typeof capturedLog>;
    let carKeys: KeyPair;
    let own: CertFiles;
    let other: CertFiles;
    const caPem = () => readFileSync(ca.files.cert, 'utf8');
    const asDevice = (cert: CertFiles): LinkTls => ({ ca: caPem(), cert: readFileSync(cert.cert, 'utf8'), key: readFileSync(cert.key, 'utf8') });
    beforeAll(async () => {
      log = capturedLog();
      broker = await startBroker({ ...tlsConfig(), tlsClientCaFile: deviceCa.files.cert }, undefined, { logger: log.logger });
      carKeys = broker.enrol('car-1');
      broker.enrol('car-2');
      own = deviceCa.issue({ cn: 'car-1' });
      other = deviceCa.issue({ cn: 'car-2' });
    });
    afterAll(async () => {
      await broker.stop();
    });
    const url = () => `mqtts://localhost:${broker.mqttsPort}`;

    it('a device with its own certificate connects', async () => {
      const { link, error } = await tryLink(broker, url(), 'car-1', carKeys, asDevice(own));
      expect(error).toBeNull();
      await link?.close();
    });

    it("a device presenting another device's certificate is refused even with a valid token", async () => {
      const { link, error } = await tryLink(broker, url(), 'car-1', carKeys, asDevice(other));
      expect(link).toBeNull();
      expect(error).toMatch(/Not authorized/i);
      const line = await log.waitFor((entry) => entry.msg === 'connection refused' && String(entry.detail).includes('names "car-2", not device car-1'));
      expect(line).toMatchObject({ client: 'car-1', code: 'NOT_AUTHORIZED' });
    });

    it('no certificate, or one from another CA, fails the handshake', async () => {
      const none = await tryLink(broker, url(), 'car-1', carKeys, { ca: caPem() });
      expect(none.error).toMatch(/TLS to localhost:\d+ failed \(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED/);
      const foreign = otherCa.issue({ cn: 'car-1', name: 'car-1-foreign' });
      const wrongIssuer = await tryLink(broker, url(), 'car-1', carKeys, asDevice(foreign));
      expect(wrongIssuer.link).toBeNull();
      await log.waitFor((entry) => entry.msg === 'TLS handshake refused' && /certificate|unknown ca|verify/i.test(String(entry.err)));
    });

    it('a device enrolled with `device add --cert-sha256` must present that very certificate', async () => {
      const keys = generateKeyPair(random);
      const recorded = deviceCa.issue({ cn: 'car-7', name: 'car-7-recorded' });
      const reissued = deviceCa.issue({ cn: 'car-7', name: 'car-7-reissued' });
      const added = await runCli(['device', 'add', 'car-7', '--data', broker.dataDir, '--public-key', toHex(keys.publicKey), '--cert-sha256', recorded.fingerprint256]);
      expect(added.stderr).toBe('');
      expect(added.stdout).toContain(`enrolled car-7 (client certificate sha256 ${recorded.fingerprint256.replace(/:/g, '').toLowerCase()})`);
      const other = await tryLink(broker, url(), 'car-7', keys, asDevice(reissued));
      expect(other.error).toMatch(/Not authorized/i);
      await log.waitFor((entry) => String(entry.detail).includes('is not the one enrolled for device car-7'));
      const { link, error } = await tryLink(broker, url(), 'car-7', keys, asDevice(recorded));
      expect(error).toBeNull();
      await link?.close();
    });

    it('an agent set up by `agent init --client-cert/--client-key --broker-cert-sha256` connects with its certificate', async () => {
      const home = join(pki.path, 'car-8-home');
      const cert = deviceCa.issue({ cn: 'car-8' });
      const init = await runCli(['agent', 'init', '--home', home, '--id', 'car-8', '--broker', url(), '--broker-cert-sha256', serverCert.fingerprint256,
        '--client-cert', cert.cert, '--client-key', cert.key, '--service-key', broker.app.servicePublicKeyHex]);
      expect(init.code).toBe(0);
      expect(init.stdout).toContain('broker TLS: certificate pinned, client certificate set; mqtts:// only');
      expect(JSON.parse(readFileSync(join(home, 'agent.json'), 'utf8')).tls).toEqual({ brokerCertSha256: serverCert.fingerprint256, clientCertFile: cert.cert, clientKeyFile: cert.key });
      addDevice(broker.app.db, 'car-8', fromHex(init.stdout.trim().split('\n').pop() ?? ''), Date.now());
      fundWallet(broker.app.db, 'car-8', parseAmount('2'), 'car-8:tls-test', Date.now());
      const agent = await createAgent({ home, ...TEST_AGENT_TIMING });
      try {
        expect(await agent.balance()).toBe(2_000_000n);
      } finally {
        await agent.stop();
      }
    });

    it('a disabled device is refused with its own valid certificate', async () => {
      setDeviceStatus(broker.app.db, 'car-1', 'disabled');
      try {
        const { link, error } = await tryLink(broker, url(), 'car-1', carKeys, asDevice(own));
        expect(link).toBeNull();
        expect(error).toMatch(/device is disabled.*CONNACK 2/i);
      } finally {
        setDeviceStatus(broker.app.db, 'car-1', 'active');
      }
    });
  });

  describe('mutual TLS over WSS and for the operator API', () => {
    let broker: RunningBroker;
    let carKeys: KeyPair;
    let own: CertFiles;
    let operator: CertFiles;
    beforeAll(async () => {
      broker = await startBroker({ ...tlsConfig(), tlsClientCaFile: deviceCa.files.cert, operatorClientCert: true, httpPort: 0 }, undefined, { httpHandler: operatorHttpHandler() });
      carKeys = broker.enrol('car-1');
      own = deviceCa.issue({ cn: 'car-1', name: 'car-1-wss' });
      operator = deviceCa.issue({ cn: 'operator', name: 'operator-client' });
    });
    afterAll(async () => {
      await broker.stop();
    });

    /** A device CONNECT over wss:// at /mqtt, with a fresh signed connect token; whether CONNACK accepted it. */
    async function wssDevice(cert: CertFiles | null): Promise<boolean> {
      const password = signConnectPassword({ device: 'car-1', broker: broker.app.config.brokerId, timeMs: Date.now(), nonce: random(16), secretKey: carKeys.secretKey, sign });
      const client = mqtt.connect(`wss://localhost:${broker.httpPort}/mqtt`, {
        protocolVersion: 4, clientId: 'car-1', username: 'car-1', password: Buffer.from(password) as unknown as string, reconnectPeriod: 0, connectTimeout: 5_000,
        ca: readFileSync(ca.files.cert), ...(cert === null ? {} : { cert: readFileSync(cert.cert), key: readFileSync(cert.key) }),
      });
      const connected = await new Promise<boolean>((resolve) => {
        client.once('connect', () => resolve(true));
        client.once('error', () => resolve(false));
        client.once('close', () => resolve(false));
      });
      await client.endAsync(true);
      return connected;
    }

    it('a device over WSS needs its certificate too (the page loads without one; CONNECT does not pass)', async () => {
      expect(await wssDevice(own)).toBe(true);
      expect(await wssDevice(null)).toBe(false);
    });

    it('--operator-client-cert: the API wants a client certificate beside the token', async () => {
      const url = `https://localhost:${broker.httpPort}/api/devices`;
      const withoutCert = await httpsGet(url, ca.files.cert, OPERATOR_TOKEN);
      expect(withoutCert.status).toBe(401);
      expect(withoutCert.body).toContain('requires a client certificate');
      const withCert = await httpsGet(url, ca.files.cert, OPERATOR_TOKEN, operator);
      expect(withCert.status).toBe(200);
      expect(withCert.body).toContain('car-1');
    });
  });

  describe('certificate renewal', () => {
    it('a certificate swapped on disk is served without a restart, and /metrics shows its expiry', async () => {
      const live = { cert: join(pki.path, 'live.pem'), key: join(pki.path, 'live.key') };
      const first = ca.issue({ cn: 'localhost', server: true, name: 'renew-1', days: 30 });
      const second = ca.issue({ cn: 'localhost', server: true, name: 'renew-2', days: 10 });
      copyFileSync(first.cert, live.cert);
      copyFileSync(first.key, live.key);
      const options: StartBrokerOptions = { httpHandler: operatorHttpHandler() };
      const broker = await startBroker({ tlsCertFile: live.cert, tlsKeyFile: live.key, mqttsPort: 0, httpPort: 0 }, undefined, options);
      const tls = broker.app.tls;
      if (tls === null) throw new Error('TLS is off');
      let connected: { link: DeviceLink | null; error: string | null } = { link: null, error: null };
      try {
        const keys = broker.enrol('car-1');
        connected = await tryLink(broker, `mqtts://localhost:${broker.mqttsPort}`, 'car-1', keys, { ca: readFileSync(ca.files.cert, 'utf8') });
        expect(connected.error).toBeNull();
        expect(await servedFingerprint(broker.mqttsPort ?? 0, ca.files.cert)).toBe(first.fingerprint256);
        const expiry = (text: string) => Number(/^mqpay_tls_certificate_expiry_timestamp_seconds (\d+)$/m.exec(text)?.[1]);
        const metricsUrl = `https://localhost:${broker.httpPort}/metrics`;
        expect(expiry((await httpsGet(metricsUrl, ca.files.cert, OPERATOR_TOKEN)).body)).toBe(Math.floor(tls.current.notAfterMs / 1000));

        const reloaded = new Promise<void>((resolve) => tls.onReload((material) => {
          if (material.fingerprint256 === second.fingerprint256) resolve();
        }));
        // As a renewal tool does it: new files renamed over the old ones.
        copyFileSync(second.key, `${live.key}.new`);
        copyFileSync(second.cert, `${live.cert}.new`);
        renameSync(`${live.key}.new`, live.key);
        renameSync(`${live.cert}.new`, live.cert);
        await reloaded;

        expect(await servedFingerprint(broker.mqttsPort ?? 0, ca.files.cert)).toBe(second.fingerprint256);
        expect(await servedFingerprint(broker.httpPort ?? 0, ca.files.cert)).toBe(second.fingerprint256);
        const metrics = await httpsGet(metricsUrl, ca.files.cert, OPERATOR_TOKEN);
        expect(metrics.status).toBe(200);
        expect(expiry(metrics.body)).toBe(Math.floor(tls.current.notAfterMs / 1000));
        expect(tls.current.notAfterMs).toBeLessThan(Date.now() + 11 * 86_400_000);
        // The session opened under the old certificate is still up.
        expect(connected.link?.client.connected).toBe(true);
      } finally {
        await connected.link?.close();
        await broker.stop();
      }
    });
  });
});
