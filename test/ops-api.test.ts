// The operator HTTP API against a real broker and a real SQLite file: every route's status codes,
// the operator token (401 without or with a wrong one), problem+json with stable codes on bad
// input, 404/405/413/415, and answers that match the schemas the OpenAPI document publishes. The
// last test reads the broker's own request counters to prove every route in the table was
// exercised here (2xx for each, 401 for each operator route, 400 for each route with input).
import { VOUCHERS_KEPT_PER_CHANNEL } from '../broker/limits.js';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../broker/operator/http/route-table.js';
import { problemView } from '../broker/operator/http/view-schemas.js';
import { generateKeyPair } from '../shared/keys.js';
import { toHex } from '../shared/hex.js';
import { formatAmount } from '../shared/amount.js';
import { OPERATOR_TOKEN, random } from './helpers/broker-fixture.js';
import { openPayingChannel, startOpsBroker, type ApiAnswer, type ApiOptions, type OpsBroker, type PayingChannel } from './helpers/ops-fixture.js';
import { recordedDeviceCertificate } from '../broker/store/sqlite/device-certificates.js';

let broker: OpsBroker;
let channel: PayingChannel;

beforeAll(async () => {
  broker = await startOpsBroker();
  channel = await openPayingChannel(broker, { payer: 'car-1', payee: 'charger-1' }, { funds: '10', deposit: '2.5', step: '0.000125' });
  await channel.pay(40);
});
afterAll(async () => {
  await broker.stop();
});

function routeOf(method: string, template: string) {
  const route = ROUTES.find((candidate) => candidate.method === method && candidate.path === template);
  if (route === undefined) throw new Error(`no route ${method} ${template} in the table`);
  return route;
}

/** Calls a route and checks the answer against the schema the route documents for that status. */
async function expectAnswer(method: string, template: string, path: string, status: number, options: ApiOptions = {}): Promise<any> {
  const answer = await broker.api(method, path, options);
  expect(answer.status, answer.text).toBe(status);
  const documented = routeOf(method, template).responses.find((response) => response.status === status);
  expect(documented, `${method} ${template} documents ${status}`).toBeDefined();
  if (documented?.schema !== undefined) documented.schema.parse(answer.json);
  return answer.json;
}

function expectProblem(answer: ApiAnswer, status: number, code: string): void {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.headers.get('content-type')).toBe('application/problem+json');
  const problem = problemView.parse(answer.json);
  expect(problem).toMatchObject({ status, code, type: `urn:mqpay:error:${code}` });
  expect(problem.detail.length).toBeGreaterThan(0);
}

const newKeyHex = (): string => toHex(generateKeyPair(random).publicKey);

describe('operator token', () => {
  /** A concrete path for a template (valid-looking parameters). */
  const concrete = (template: string): string => template.replace('{id}', template.includes('channels') ? '00'.repeat(32) : 'car-1').replace('{device}', 'car-1').replace('{file}', 'dashboard.js');

  it('every operator route answers 401 with WWW-Authenticate without a token and with a wrong one', async () => {
    const operatorRoutes = ROUTES.filter((route) => route.access === 'operator');
    expect(operatorRoutes.length).toBeGreaterThanOrEqual(15);
    for (const route of operatorRoutes) {
      for (const token of [null, 'not-the-operator-token-at-all']) {
        const answer = await broker.api(route.method, concrete(route.path), { token, ...(route.body === null ? {} : { body: {} }) });
        expectProblem(answer, 401, 'NOT_AUTHORIZED');
        expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="mqpay"');
      }
    }
  });

  it('public routes need no token: health, dashboard page and assets, OpenAPI', async () => {
    expect((await broker.api('GET', '/healthz', { token: null })).text).toBe('ok\n');
    const page = await broker.api('GET', '/', { token: null });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.text).toContain('/assets/dashboard.js');
    for (const [file, type] of [['dashboard.js', /^text\/javascript/], ['dashboard.css', /^text\/css/], ['dashboard.js.map', /^application\/json/]] as const) {
      const asset = await broker.api('GET', `/assets/${file}`, { token: null });
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toMatch(type);
    }
    expect((await broker.api('GET', '/api/openapi.json', { token: null })).json.openapi).toBe('3.1.0');
  });

  it('takes ?token= on the live-event stream only', async () => {
    expectProblem(await broker.api('GET', `/api/devices?token=${OPERATOR_TOKEN}`, { token: null }), 401, 'NOT_AUTHORIZED');
    const controller = new AbortController();
    const response = await fetch(`${broker.base}/api/events?token=${OPERATOR_TOKEN}`, { signal: controller.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    controller.abort();
    const refused = await broker.api('GET', '/api/events?token=wrong-token-wrong-token', { token: null });
    expectProblem(refused, 401, 'NOT_AUTHORIZED');
  });
});

describe('unknown routes and methods', () => {
  it('404 NOT_FOUND for unknown paths, 405 METHOD_NOT_ALLOWED with Allow for known paths', async () => {
    expectProblem(await broker.api('GET', '/api/nope'), 404, 'NOT_FOUND');
    expectProblem(await broker.api('GET', '/nope', { token: null }), 404, 'NOT_FOUND');
    expectProblem(await broker.api('GET', '/assets/../../package.json', { token: null }), 404, 'NOT_FOUND');
    const wrong = await broker.api('DELETE', '/api/devices');
    expectProblem(wrong, 405, 'METHOD_NOT_ALLOWED');
    expect(wrong.headers.get('allow')).toBe('GET, POST');
    expect((await broker.api('PUT', '/healthz', { token: null })).headers.get('allow')).toBe('GET');
    expectProblem(await broker.api('GET', '/assets/secret.txt', { token: null }), 400, 'MESSAGE_INVALID');
  });
});

describe('devices', () => {
  it('enrols, lists with online/offline, shows one, and refuses duplicates, bad keys and bad ids', async () => {
    const enrolled = await expectAnswer('POST', '/api/devices', '/api/devices', 201, { body: { id: 'meter-7', publicKey: newKeyHex() } });
    expect(enrolled).toMatchObject({ id: 'meter-7', status: 'active', online: false, balance: '0' });
    const list = await expectAnswer('GET', '/api/devices', '/api/devices', 200);
    expect(list.items.map((device: { id: string }) => device.id)).toEqual(['car-1', 'charger-1', 'meter-7']);
    expect(list.items.find((device: { id: string }) => device.id === 'car-1')).toMatchObject({ online: true, balance: '7.5' });
    expect(await expectAnswer('GET', '/api/devices', '/api/devices?limit=2&offset=1', 200)).toMatchObject({ limit: 2, offset: 1, nextOffset: null });
    expect((await expectAnswer('GET', '/api/devices', '/api/devices?limit=1', 200)).nextOffset).toBe(1);
    expect(await expectAnswer('GET', '/api/devices/{id}', '/api/devices/meter-7', 200)).toMatchObject({ id: 'meter-7', online: false });

    expectProblem(await broker.api('POST', '/api/devices', { body: { id: 'meter-7', publicKey: newKeyHex() } }), 409, 'DEVICE_EXISTS');
    expectProblem(await broker.api('POST', '/api/devices', { body: { id: 'meter-8', publicKey: '00'.repeat(32) } }), 400, 'KEY_INVALID');
    expectProblem(await broker.api('POST', '/api/devices', { body: { id: 'meter-8', publicKey: 'abc' } }), 400, 'KEY_INVALID');
    expectProblem(await broker.api('POST', '/api/devices', { body: { id: 'Meter/8', publicKey: newKeyHex() } }), 400, 'DEVICE_ID_INVALID');
    expectProblem(await broker.api('POST', '/api/devices', { body: { id: 'meter-8' } }), 400, 'MESSAGE_INVALID');
    expectProblem(await broker.api('POST', '/api/devices', { body: { id: 'meter-8', publicKey: newKeyHex(), admin: true } }), 400, 'MESSAGE_INVALID');
    expectProblem(await broker.api('GET', '/api/devices/nobody'), 404, 'DEVICE_UNKNOWN');
    expectProblem(await broker.api('GET', '/api/devices/Bad%21'), 400, 'DEVICE_ID_INVALID');
    expectProblem(await broker.api('GET', '/api/devices?limit=0'), 400, 'MESSAGE_INVALID');
    expectProblem(await broker.api('GET', '/api/devices?limit=501'), 400, 'MESSAGE_INVALID');
    expectProblem(await broker.api('GET', '/api/devices?color=red'), 400, 'MESSAGE_INVALID');

    // Enrolment can record the TLS client certificate the device must present under mutual TLS.
    const fingerprint = 'AB:'.repeat(31) + 'CD';
    await expectAnswer('POST', '/api/devices', '/api/devices', 201, { body: { id: 'meter-9', publicKey: newKeyHex(), certSha256: fingerprint } });
    expect(recordedDeviceCertificate(broker.app.db, 'meter-9')).toBe(`${'ab'.repeat(31)}cd`);
    expect(recordedDeviceCertificate(broker.app.db, 'meter-7')).toBeNull();
    expectProblem(await broker.api('POST', '/api/devices', { body: { id: 'meter-10', publicKey: newKeyHex(), certSha256: 'not-hex' } }), 400, 'MESSAGE_INVALID');
    expectProblem(await broker.api('GET', '/api/devices/meter-10'), 404, 'DEVICE_UNKNOWN'); // nothing enrolled by the refused request
  });

  it('disabling a connected device closes its session and refuses it; enabling lets it back', async () => {
    const keys = broker.enrol('sensor-3');
    const link = await broker.link('sensor-3', keys);
    await expect.poll(() => broker.app.mqtt.online.has('sensor-3'), { timeout: 5_000 }).toBe(true);
    const disabled = await expectAnswer('POST', '/api/devices/{id}/disable', '/api/devices/sensor-3/disable', 200);
    expect(disabled).toMatchObject({ disconnected: true, device: { id: 'sensor-3', status: 'disabled' } });
    await expect.poll(() => broker.app.mqtt.online.has('sensor-3'), { timeout: 5_000 }).toBe(false);
    await link.close();
    await expect(broker.link('sensor-3', keys)).rejects.toThrow();
    expect(broker.app.service.telemetry.authFailures).toBeGreaterThan(0);

    const enabled = await expectAnswer('POST', '/api/devices/{id}/enable', '/api/devices/sensor-3/enable', 200);
    expect(enabled).toMatchObject({ disconnected: false, device: { status: 'active' } });
    await broker.link('sensor-3', keys);
    expect((await expectAnswer('POST', '/api/devices/{id}/disable', '/api/devices/sensor-3/disable', 200)).disconnected).toBe(true);
    expectProblem(await broker.api('POST', '/api/devices/nobody/disable'), 404, 'DEVICE_UNKNOWN');
    expectProblem(await broker.api('POST', '/api/devices/Bad%21/disable'), 400, 'DEVICE_ID_INVALID');
    expectProblem(await broker.api('POST', '/api/devices/Bad%21/enable'), 400, 'DEVICE_ID_INVALID');
  });

  it('re-keying a connected device closes its session; the old key is refused, the new one connects; bad and reused keys are refused', async () => {
    const keys = broker.enrol('sensor-4');
    const link = await broker.link('sensor-4', keys);
    await expect.poll(() => broker.app.mqtt.online.has('sensor-4'), { timeout: 5_000 }).toBe(true);
    const replacement = generateKeyPair(random);
    const rekeyed = await expectAnswer('POST', '/api/devices/{id}/rekey', '/api/devices/sensor-4/rekey', 200, { body: { publicKey: toHex(replacement.publicKey) } });
    expect(rekeyed).toMatchObject({ disconnected: true, certificates: 0, device: { id: 'sensor-4', publicKey: toHex(replacement.publicKey) } });
    await link.close();
    await expect(broker.link('sensor-4', keys)).rejects.toThrow();
    await broker.link('sensor-4', replacement);
    expectProblem(await broker.api('POST', '/api/devices/sensor-4/rekey', { body: { publicKey: toHex(keys.publicKey) } }), 409, 'KEY_REUSED');
    expectProblem(await broker.api('POST', '/api/devices/sensor-4/rekey', { body: { publicKey: '00'.repeat(32) } }), 400, 'KEY_INVALID');
    expectProblem(await broker.api('POST', '/api/devices/sensor-4/rekey', { body: {} }), 400, 'MESSAGE_INVALID');
    expectProblem(await broker.api('POST', '/api/devices/nobody/rekey', { body: { publicKey: newKeyHex() } }), 404, 'DEVICE_UNKNOWN');
  });
});

describe('device limits', () => {
  const template = '/api/devices/{id}/limits';

  it("reads, replaces and clears a device's own server-side limits; contradictory or bad ones are 400", async () => {
    broker.enrol('meter-20');
    const path = '/api/devices/meter-20/limits';
    const none = { maxPerPayment: null, maxPerHour: null, maxPerDay: null, allowPayees: null };
    expect(await expectAnswer('GET', template, path, 200)).toEqual({ device: 'meter-20', own: none, defaults: none, effective: none });
    const set = await expectAnswer('PUT', template, path, 200, { body: { maxPerPayment: '0.5', maxPerHour: '2', allowPayees: ['car-1'] } });
    expect(set.own).toEqual({ maxPerPayment: '0.5', maxPerHour: '2', maxPerDay: null, allowPayees: ['car-1'] });
    expect(set.effective).toEqual(set.own);
    expect((await expectAnswer('GET', template, path, 200)).own).toEqual(set.own);
    expectProblem(await broker.api('PUT', path, { body: { maxPerPayment: '3', maxPerHour: '2' } }), 400, 'MESSAGE_INVALID');
    expectProblem(await broker.api('PUT', path, { body: { maxPerHour: '0' } }), 400, 'MESSAGE_INVALID');
    expectProblem(await broker.api('PUT', path, { body: { maxPerHour: '1.0000001' } }), 400, 'AMOUNT_INVALID');
    expectProblem(await broker.api('PUT', path, { body: { allowPayees: ['Bad!'] } }), 400, 'DEVICE_ID_INVALID');
    expectProblem(await broker.api('PUT', path, { body: { maxPerDay: '1', extra: true } }), 400, 'MESSAGE_INVALID');
    expectProblem(await broker.api('GET', '/api/devices/Bad%21/limits'), 400, 'DEVICE_ID_INVALID');
    expectProblem(await broker.api('GET', '/api/devices/nobody/limits'), 404, 'DEVICE_UNKNOWN');
    expectProblem(await broker.api('PUT', '/api/devices/nobody/limits', { body: { maxPerDay: '1' } }), 404, 'DEVICE_UNKNOWN');
    expect((await expectAnswer('PUT', template, path, 200, { body: {} })).own).toEqual(none);
  });
});

describe('wallets', () => {
  const fund = '/api/wallets/{device}/fund';

  it('funds once per idempotency key (header or body) and lists balances', async () => {
    const first = await expectAnswer('POST', fund, '/api/wallets/charger-1/fund', 201, { body: { amount: '1.25' }, headers: { 'idempotency-key': 'top-up-1' } });
    expect(first).toEqual({ device: 'charger-1', amount: '1.25', balance: '1.25', currency: 'EUR', moved: true, idempotencyKey: 'top-up-1' });
    const again = await expectAnswer('POST', fund, '/api/wallets/charger-1/fund', 200, { body: { amount: '1.25', idempotencyKey: 'top-up-1' } });
    expect(again).toMatchObject({ moved: false, balance: '1.25' });
    expectProblem(await broker.api('POST', '/api/wallets/charger-1/fund', { body: { amount: '2', idempotencyKey: 'top-up-1' } }), 409, 'IDEMPOTENCY_CONFLICT');
    expectProblem(await broker.api('POST', '/api/wallets/car-1/fund', { body: { amount: '1.25', idempotencyKey: 'top-up-1' } }), 409, 'IDEMPOTENCY_CONFLICT');
    const wallets = await expectAnswer('GET', '/api/wallets', '/api/wallets', 200);
    expect(wallets.items).toContainEqual({ device: 'charger-1', balance: '1.25', currency: 'EUR' });
    expect((await expectAnswer('GET', '/api/wallets', '/api/wallets?limit=1&offset=1', 200)).items).toHaveLength(1);
    expectProblem(await broker.api('GET', '/api/wallets?offset=abc'), 400, 'MESSAGE_INVALID');
  });

  it('refuses bad amounts, missing or conflicting keys, unknown devices', async () => {
    const post = (device: string, body: unknown, headers: Record<string, string> = {}) => broker.api('POST', `/api/wallets/${device}/fund`, { body, headers });
    expectProblem(await post('car-1', { amount: '1.2345678', idempotencyKey: 'a1' }), 400, 'AMOUNT_INVALID');
    expectProblem(await post('car-1', { amount: '-1', idempotencyKey: 'a2' }), 400, 'AMOUNT_NEGATIVE');
    expectProblem(await post('car-1', { amount: '0', idempotencyKey: 'a3' }), 400, 'AMOUNT_ZERO');
    expectProblem(await post('car-1', { amount: 5, idempotencyKey: 'a4' }), 400, 'MESSAGE_INVALID');
    expectProblem(await post('car-1', { amount: '1' }), 400, 'MESSAGE_INVALID');
    expectProblem(await post('car-1', { amount: '1', idempotencyKey: 'k-1' }, { 'idempotency-key': 'k-2' }), 400, 'MESSAGE_INVALID');
    expectProblem(await post('car-1', { amount: '1', idempotencyKey: 'spaces are not allowed' }), 400, 'MESSAGE_INVALID');
    expectProblem(await post('nobody', { amount: '1', idempotencyKey: 'a5' }), 404, 'DEVICE_UNKNOWN');
  });
});

describe('request bodies', () => {
  it('413 for a declared or streamed body over 16 KiB, 415 for non-JSON, 400 for broken JSON', async () => {
    const big = JSON.stringify({ amount: '1', idempotencyKey: 'x', pad: 'x'.repeat(20_000) });
    expectProblem(await broker.api('POST', '/api/wallets/car-1/fund', { rawBody: big, headers: { 'content-type': 'application/json' } }), 413, 'MESSAGE_TOO_LARGE');
    const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(`${broker.base}/api/settlements`, { method: 'POST', headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      request.on('error', reject);
      for (let i = 0; i < 20; i++) request.write('x'.repeat(1_024));
      request.end();
    });
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body).code).toBe('MESSAGE_TOO_LARGE');
    expectProblem(await broker.api('POST', '/api/settlements', { rawBody: 'settle please', headers: { 'content-type': 'text/plain' } }), 415, 'MEDIA_TYPE_UNSUPPORTED');
    expectProblem(await broker.api('POST', '/api/settlements', { rawBody: '{"unclosed":', headers: { 'content-type': 'application/json' } }), 400, 'MESSAGE_INVALID');
    expectProblem(await broker.api('POST', '/api/settlements', { body: { now: true } }), 400, 'MESSAGE_INVALID');
  });
});

describe('channels and settlements', () => {
  it('shows channels with their totals; refuses bad and unknown ids', async () => {
    const list = await expectAnswer('GET', '/api/channels', '/api/channels', 200);
    expect(list.items[0]).toMatchObject({ id: channel.channelHex, payer: 'car-1', payee: 'charger-1', state: 'open', deposit: '2.5', latestSeq: '40', latestTotal: '0.005', settledTotal: '0', unsettled: '0.005' });
    expect(await expectAnswer('GET', '/api/channels/{id}', `/api/channels/${channel.channelHex}`, 200)).toMatchObject({ latestTotal: '0.005' });
    expectProblem(await broker.api('GET', `/api/channels/${'00'.repeat(32)}`), 404, 'CHANNEL_UNKNOWN');
    expectProblem(await broker.api('GET', '/api/channels/xyz'), 400, 'ENCODING_INVALID');
    expectProblem(await broker.api('POST', `/api/channels/${'00'.repeat(32)}/close`), 404, 'CHANNEL_UNKNOWN');
    expectProblem(await broker.api('POST', '/api/channels/abcd/close'), 400, 'ENCODING_INVALID');
    expectProblem(await broker.api('GET', '/api/channels?limit=1.5'), 400, 'MESSAGE_INVALID');
    const evidence = await expectAnswer('GET', '/api/channels/{id}/evidence', `/api/channels/${channel.channelHex}/evidence`, 200);
    expect(evidence).toMatchObject({ channel: channel.channelHex, payer: 'car-1', payee: 'charger-1', latest: { seq: '40', total: '5000' }, settled: [], doubleSigns: [] });
    expectProblem(await broker.api('GET', `/api/channels/${'00'.repeat(32)}/evidence`), 404, 'CHANNEL_UNKNOWN');
    expectProblem(await broker.api('GET', '/api/channels/xyz/evidence'), 400, 'ENCODING_INVALID');
  });

  it('settles now, lists settlements newest first with paging, shows one with its lines', async () => {
    const settled = await expectAnswer('POST', '/api/settlements', '/api/settlements', 201);
    expect(settled.settlement).toMatchObject({ reason: 'manual', channels: 1, amount: '0.005', fee: '0', lines: [{ account: 'wallet:charger-1', amount: '0.005' }] });
    expect(await expectAnswer('POST', '/api/settlements', '/api/settlements', 200)).toEqual({ settlement: null });
    await channel.pay(8);
    const second = (await expectAnswer('POST', '/api/settlements', '/api/settlements', 201)).settlement;
    expect(second.amount).toBe('0.001');

    const list = await expectAnswer('GET', '/api/settlements', '/api/settlements', 200);
    expect(list.items.map((item: { id: string }) => item.id)).toEqual([second.id, settled.settlement.id]);
    const page = await expectAnswer('GET', '/api/settlements', '/api/settlements?limit=1&offset=1', 200);
    expect(page).toMatchObject({ items: [{ id: settled.settlement.id }], nextOffset: null });
    expect((await expectAnswer('GET', '/api/settlements', '/api/settlements?limit=1', 200)).nextOffset).toBe(1);
    const one = await expectAnswer('GET', '/api/settlements/{id}', `/api/settlements/${encodeURIComponent(second.id)}`, 200);
    expect(one.lines).toEqual([{ account: 'wallet:charger-1', amount: '0.001' }]);
    expectProblem(await broker.api('GET', '/api/settlements/epoch-0'), 404, 'NOT_FOUND');
    expectProblem(await broker.api('GET', `/api/settlements/${'x'.repeat(129)}`), 400, 'MESSAGE_INVALID');
    expectProblem(await broker.api('GET', '/api/settlements?offset=-1'), 400, 'MESSAGE_INVALID');
  });

  it('force-closes a channel: a dispute window first (idempotent), settle and refund on an explicit immediate close, and refuses a close after', async () => {
    await channel.pay(4);
    const closing = await expectAnswer('POST', '/api/channels/{id}/close', `/api/channels/${channel.channelHex}/close`, 200);
    expect(closing).toMatchObject({ settled: null, refunded: null, settlement: null, channel: { state: 'closing', closeRequestedBy: 'operator' } });
    expect(typeof closing.channel.closesAt).toBe('string');
    const again = await expectAnswer('POST', '/api/channels/{id}/close', `/api/channels/${channel.channelHex}/close`, 200);
    expect(again.channel.closesAt).toBe(closing.channel.closesAt);
    expectProblem(await broker.api('POST', `/api/channels/${channel.channelHex}/close?immediate=yes`), 400, 'MESSAGE_INVALID');
    const closed = await expectAnswer('POST', '/api/channels/{id}/close', `/api/channels/${channel.channelHex}/close?immediate=true`, 200);
    expect(closed).toMatchObject({ settled: '0.0065', refunded: '2.4935', channel: { state: 'closed', closeRequestedBy: 'operator-immediate', closesAt: null } });
    expect(closed.settlement).toBe(`close-${channel.channelHex}`);
    expectProblem(await broker.api('POST', `/api/channels/${channel.channelHex}/close`), 409, 'CHANNEL_CLOSED');
    expect((await expectAnswer('GET', '/api/wallets', '/api/wallets', 200)).items).toContainEqual({ device: 'car-1', balance: '9.9935', currency: 'EUR' });
  });
});

describe('ledger', () => {
  it('totals balance and the audit holds', async () => {
    const totals = await expectAnswer('GET', '/api/ledger', '/api/ledger', 200);
    expect(totals).toMatchObject({ funded: '11.25', fees: '0', balanced: true, escrow: { balance: '0' } });
    const audit = await expectAnswer('GET', '/api/ledger/audit', '/api/ledger/audit', 200);
    expect(audit.ok).toBe(true);
    expect(audit.checks.length).toBeGreaterThanOrEqual(9);
    expect(audit.checks.every((check: { ok: boolean }) => check.ok)).toBe(true);
    // With the signature checks, every settled voucher is re-verified with its payer's key [docs/DESIGN.md rule 11].
    const verified = await expectAnswer('GET', '/api/ledger/audit', '/api/ledger/audit?verifySignatures=true', 200);
    expect(verified.ok).toBe(true);
    expect(verified.checks.length).toBe(audit.checks.length + 5);
    expectProblem(await broker.api('GET', '/api/ledger/audit?verifySignatures=maybe'), 400, 'MESSAGE_INVALID');
    // Never restored, no scheduled backups: both null (test/backup-restore-drill.test.ts shows a restored one).
    expect(await expectAnswer('GET', '/api/ledger/restore', '/api/ledger/restore', 200)).toEqual({ restored: null, backups: null });
  });
});

describe('money out and the export', () => {
  // The behaviour is in money-out-api.test.ts; here each route answers as it documents, and bad input is a 400.
  it('payouts, fees payouts, moves and the export answer their documented schemas; bad input is a 400', async () => {
    broker.enrol('spare-1');
    await expectAnswer('POST', '/api/wallets/{device}/payouts', '/api/wallets/car-1/payouts', 201, { body: { amount: '0.5', idempotencyKey: 'out-1' } });
    expectProblem(await broker.api('POST', '/api/wallets/car-1/payouts', { body: { amount: '0.5' } }), 400, 'MESSAGE_INVALID');
    expectProblem(await broker.api('POST', '/api/fees/payouts', { body: { amount: 'x', idempotencyKey: 'fee-1' } }), 400, 'AMOUNT_INVALID');
    expectProblem(await broker.api('POST', '/api/fees/payouts', { body: { amount: '1', idempotencyKey: 'fee-1' } }), 409, 'INSUFFICIENT_FUNDS');
    await expectAnswer('POST', '/api/wallets/{device}/moves', '/api/wallets/car-1/moves', 201, { body: { to: 'spare-1', amount: '0.25', idempotencyKey: 'mv-1' } });
    expectProblem(await broker.api('POST', '/api/wallets/car-1/moves', { body: { to: 'spare-1', amount: '0.25', idempotencyKey: 'mv-2', extra: 1 } }), 400, 'MESSAGE_INVALID');
    await expectAnswer('GET', '/api/export', '/api/export?from=2000-01-01&to=2100-01-01', 200);
    expectProblem(await broker.api('GET', '/api/export?from=2000-01-01&to=2100-01-01&format=xml'), 400, 'MESSAGE_INVALID');
    // The fees route: a 2xx needs fees, which this broker (fee 0) never collects; a 409 above proves it is served.
    broker.app.db.prepare("INSERT INTO transfers (id, from_account, to_account, amount, kind, created_at_ms) VALUES ('fee:test', (SELECT id FROM accounts WHERE name = 'wallet:spare-1'), 2, 1, 'fee', 0)").run();
    await expectAnswer('POST', '/api/fees/payouts', '/api/fees/payouts', 201, { body: { amount: '0.000001', idempotencyKey: 'fee-2' } });
  });
});

describe('dashboard reads', () => {
  it('summarises the whole ledger with SQL aggregates that agree with the lists and the ledger totals', async () => {
    const summary = await expectAnswer('GET', '/api/summary', '/api/summary', 200);
    const devices = (await broker.api('GET', '/api/devices?limit=500')).json.items as { status: string; online: boolean }[];
    const channels = (await broker.api('GET', '/api/channels?limit=500')).json.items as { state: string }[];
    const settlements = (await broker.api('GET', '/api/settlements?limit=500')).json.items as unknown[];
    expect(summary.devices).toEqual({
      enrolled: devices.length, active: devices.filter((d) => d.status === 'active').length,
      disabled: devices.filter((d) => d.status === 'disabled').length, online: devices.filter((d) => d.online).length,
    });
    expect(summary.devices.disabled).toBeGreaterThan(0);
    const inState = (state: string) => channels.filter((c) => c.state === state).length;
    expect(summary.channels).toEqual({ open: inState('open'), closing: inState('closing'), closed: inState('closed'), total: channels.length });
    expect(summary.ledger).toEqual((await broker.api('GET', '/api/ledger')).json);
    expect(summary.settled.settlements).toBe(settlements.length);
    expect(summary.settled.settlements).toBeGreaterThan(0);
    expect(summary.vouchersAccepted).toBe(broker.app.service.telemetry.vouchersAccepted);
  });

  it('lists the alarms: counters from telemetry and the recent incidents naming their client', async () => {
    const alarms = await expectAnswer('GET', '/api/alarms', '/api/alarms', 200);
    const telemetry = broker.app.service.telemetry;
    expect(alarms.counts).toMatchObject({ authFailures: telemetry.authFailures, aclViolations: telemetry.aclViolations, doubleSigns: telemetry.doubleSigns });
    expect(alarms.counts.authFailures).toBeGreaterThan(0);
    // sensor-3 tried to connect while disabled (the devices test above).
    expect(alarms.recent).toContainEqual(expect.objectContaining({ kind: 'auth.failure', client: 'sensor-3', code: 'DEVICE_DISABLED' }));
  });

  it("shows one device's activity, every list bounded, and refuses bad ids and limits", async () => {
    const activity = await expectAnswer('GET', '/api/devices/{id}/activity', '/api/devices/car-1/activity', 200);
    expect(activity.device).toMatchObject({ id: 'car-1' });
    expect(activity.channels).toMatchObject({ asPayer: 1, asPayee: 0 });
    expect(activity.channels.newest.map((c: { id: string }) => c.id)).toEqual([channel.channelHex]);
    // One channel: its log holds its newest VOUCHERS_KEPT_PER_CHANNEL, fewer than the list's 20.
    const shown = Math.min(20, VOUCHERS_KEPT_PER_CHANNEL);
    expect(activity.vouchers).toHaveLength(shown);
    expect(activity.vouchers[0]).toMatchObject({ channel: channel.channelHex, role: 'payer', total: formatAmount(channel.total()) });
    const latest = Number(activity.vouchers[0].seq);
    expect(latest).toBeGreaterThanOrEqual(40);
    expect(activity.vouchers.map((v: { seq: string }) => Number(v.seq))).toEqual(Array.from({ length: shown }, (_, i) => latest - i));
    expect(activity.settlements.length).toBeGreaterThan(0);
    expect(activity.settlements[0]).toMatchObject({ channel: channel.channelHex, role: 'payer' });
    expect(activity.presence).toContainEqual(expect.objectContaining({ type: 'device.connected', device: 'car-1' }));
    const payee = await expectAnswer('GET', '/api/devices/{id}/activity', '/api/devices/charger-1/activity?limit=3', 200);
    expect(payee.channels).toMatchObject({ asPayer: 0, asPayee: 1 });
    expect(payee.vouchers).toHaveLength(3);
    expect(payee.vouchers[0]).toMatchObject({ role: 'payee', seq: String(latest) });
    expect(payee.events).toContainEqual(expect.objectContaining({ type: 'wallet.funded', device: 'charger-1' }));
    const sensor = await expectAnswer('GET', '/api/devices/{id}/activity', '/api/devices/sensor-3/activity', 200);
    expect(sensor.events.map((e: { type: string }) => e.type)).toContain('device.disabled');
    expect(sensor.alarms).toContainEqual(expect.objectContaining({ kind: 'auth.failure', client: 'sensor-3' }));
    expectProblem(await broker.api('GET', '/api/devices/nobody/activity'), 404, 'DEVICE_UNKNOWN');
    expectProblem(await broker.api('GET', '/api/devices/Bad%21/activity'), 400, 'DEVICE_ID_INVALID');
    expectProblem(await broker.api('GET', '/api/devices/car-1/activity?limit=0'), 400, 'MESSAGE_INVALID');
    expectProblem(await broker.api('GET', '/api/devices/car-1/activity?limit=101'), 400, 'MESSAGE_INVALID');
  });
});

describe('route coverage', () => {
  it('this file exercised every route of the table: a 2xx each, a 401 per operator route, a 400 per route with input', async () => {
    const metrics = await broker.api('GET', '/metrics');
    expect(metrics.status).toBe(200);
    const seen = new Map<string, Set<string>>();
    for (const match of metrics.text.matchAll(/^mqpay_http_requests_total\{route="([^"]+)",method="([A-Z]+)",status="(\d+)"\} (\d+)/gm)) {
      const key = `${match[2]} ${match[1]}`;
      seen.set(key, (seen.get(key) ?? new Set()).add(match[3] ?? ''));
    }
    const missing: string[] = [];
    for (const route of ROUTES) {
      const statuses = [...(seen.get(`${route.method} ${route.path}`) ?? [])];
      // /metrics answers this very request after the scrape was taken, so its 200 shows next time.
      if (route.path !== '/metrics' && !statuses.some((status) => status.startsWith('2'))) missing.push(`${route.method} ${route.path}: no 2xx`);
      if (route.access === 'operator' && !statuses.includes('401')) missing.push(`${route.method} ${route.path}: no 401`);
      const takesInput = route.body !== null || route.path.includes('{') || Object.keys((route.query as { shape?: object }).shape ?? {}).some((name) => name !== 'token');
      if (takesInput && !statuses.includes('400')) missing.push(`${route.method} ${route.path}: no 400`);
    }
    expect(missing).toEqual([]);
    expect((await broker.api('GET', '/metrics')).text).toMatch(/mqpay_http_requests_total\{route="\/metrics",method="GET",status="200"\} 1/);
  });
});
