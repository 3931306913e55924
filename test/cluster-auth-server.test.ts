// The auth service's HTTP surface without RabbitMQ (so it runs everywhere): form bodies encoded
// the way RabbitMQ 3.10 encodes them, over a real SQLite ledger. A device's binary password is
// accepted once and refused the second time; malformed, oversized and unknown requests are denied.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthServer, type AuthServer } from '../broker/cluster/auth/auth-server.js';
import { storeLogins } from '../broker/cluster/auth/store-logins.js';
import { Telemetry } from '../broker/service/telemetry.js';
import { AUTH_BODY_BYTES_MAX } from '../broker/limits.js';
import { openStore, type OpenedStore } from '../broker/store/open-store.js';
import { addDevice } from '../broker/store/sqlite/devices.js';
import { openDatabase } from '../broker/store/sqlite/open-database.js';
import { generateKeyPair } from '../shared/keys.js';
import { connectPassword } from './helpers/broker-adversary.js';
import { OPERATOR_TOKEN, random } from './helpers/broker-fixture.js';

/** As RabbitMQ encodes a value: unreserved bytes as they are, space as '+', the rest %XX. */
function rabbitEncode(bytes: Uint8Array): string {
  return [...bytes].map((byte) => {
    const char = String.fromCharCode(byte);
    if (/[A-Za-z0-9._~-]/.test(char)) return char;
    return byte === 0x20 ? '+' : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
}

describe('the cluster auth service over HTTP', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mqpay-auth-server-'));
  const keys = generateKeyPair(random);
  const telemetry = new Telemetry();
  let opened: OpenedStore;
  let server: AuthServer;

  beforeAll(async () => {
    const db = openDatabase(dir);
    addDevice(db, 'cam.1', keys.publicKey, Date.now());
    db.close();
    opened = await openStore(join(dir, 'mqpay.db'));
    const logger = pino({ level: 'silent' });
    server = await startAuthServer({
      service: storeLogins(opened.store, telemetry, logger), clock: { nowMs: () => Date.now() }, brokerId: 'mqpay',
      operatorToken: OPERATOR_TOKEN, telemetry, logger, offersWildcard: false,
    }, { port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await opened?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = async (path: string, body: string): Promise<{ status: number; text: string }> => {
    const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    return { status: response.status, text: await response.text() };
  };

  it('allows a device login once: the same password again is a replay', async () => {
    const password = rabbitEncode(connectPassword({ device: 'cam.1', broker: 'mqpay', keys }));
    const body = `username=cam.1&password=${password}&vhost=mqpay&client_id=cam.1`;
    expect(await post('/auth/user', body)).toEqual({ status: 200, text: 'allow' });
    expect(await post('/auth/user', body)).toEqual({ status: 200, text: 'deny' });
    expect(telemetry.authFailures).toBe(1);
  });

  it('answers the vhost, resource and topic checks', async () => {
    expect((await post('/auth/vhost', 'username=cam.1&vhost=mqpay&ip=127.0.0.1&tags=&client_id=cam.1')).text).toBe('allow');
    expect((await post('/auth/resource', 'username=cam.1&vhost=mqpay&resource=queue&name=mqtt-subscription-cam.1qos1&permission=configure&tags=&client_id=cam.1')).text).toBe('allow');
    expect((await post('/auth/resource', 'username=cam.1&vhost=mqpay&resource=queue&name=mqtt-subscription-bobqos1&permission=read&tags=&client_id=cam.1')).text).toBe('deny');
    const topic = (key: string, permission: string) => post('/auth/topic', `username=cam.1&vhost=mqpay&resource=topic&name=amq.topic&permission=${permission}&tags=&routing_key=${rabbitEncode(Buffer.from(key))}&variable_map.client_id=cam.1&variable_map.username=cam.1&variable_map.vhost=mqpay`);
    expect((await topic('mqpay.v1.d.cam.1.in.*', 'read')).text).toBe('allow');
    expect((await topic('mqpay.v1.d.cam.1.in.#', 'read')).text).toBe('deny');
    expect((await topic('mqpay.v1.d.cam.1.out.voucher-bin', 'write')).text).toBe('allow');
    const before = telemetry.aclViolations;
    expect((await topic('mqpay.v1.d.bob.out.voucher-bin', 'write')).text).toBe('deny');
    expect(telemetry.aclViolations).toBe(before + 1);
  });

  it('denies malformed and oversized bodies, and 404s what is not a check', async () => {
    expect(await post('/auth/user', 'username=cam.1&password=%ZZ&client_id=cam.1')).toEqual({ status: 200, text: 'deny' });
    expect(await post('/auth/user', 'username=cam.1&username=cam.1')).toEqual({ status: 200, text: 'deny' });
    const oversized = await post('/auth/user', `username=cam.1&password=${'a'.repeat(AUTH_BODY_BYTES_MAX)}`).catch(() => ({ status: 0, text: 'reset' }));
    expect(oversized.text === 'deny' || oversized.text === 'reset').toBe(true);
    expect((await post('/auth/nothing', 'username=cam.1')).status).toBe(404);
    expect((await fetch(`${server.url}/auth/user`)).status).toBe(404);
  });

  it('counts what it refused at GET /metrics', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/^mqpay_auth_failures_total [1-9]/m);
    expect(text).toMatch(/^mqpay_acl_violations_total [1-9]/m);
    expect(text).toMatch(/^mqpay_auth_checks_total\{check="user",answer="allow"\} 1$/m);
    expect(text).toMatch(/^mqpay_auth_checks_total\{check="topic",answer="deny"\} 2$/m);
  });
});
