// The operator surface against the PostgreSQL ledger [issue 15]: the same operator API a cluster
// worker serves with --http-port (serveClusterOperator: reads through the PostgreSQL operator
// reads port, writes through the settlement service over the PostgreSQL store), driven by one
// scenario that also runs against the embedded broker's own API over SQLite. Devices are enrolled
// and funded through the API, a channel is opened and paid over real MQTT, the API settles, pays
// out, force-closes, sets device limits, moves between wallets, disables and enables; then every view (devices, wallets, channels, evidence, settlements,
// summary, ledger, audit, device activity, export) must answer exactly what SQLite's answers,
// times and the ledgers' own ids aside, and the CLI views over --url print the same tables. The
// dashboard served over PostgreSQL loads in headless Chromium.
import { chromium } from 'playwright-core';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serveClusterOperator, type ClusterOperatorServer } from '../broker/cluster/operator/operator-server.js';
import { openStore, type OpenedStore } from '../broker/store/open-store.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import { generateKeyPair, type KeyPair } from '../shared/keys.js';
import { OPERATOR_TOKEN, random, startBroker, type RunningBroker } from './helpers/broker-fixture.js';
import { CHROMIUM, CHROMIUM_ARGS, chromiumFor } from './helpers/chromium.js';
import { runCli } from './helpers/ops-cli.js';
import { callApi, startOpsBroker, type ApiAnswer, type ApiOptions } from './helpers/ops-fixture.js';
import { POSTGRES_MISSING, postgresPerTest } from './helpers/postgres.js';
import { payVoucher, signedVoucher } from './helpers/broker-fixture.js';
import { parseAmount, type Amount } from '../shared/amount.js';

/** A ledger behind an operator API: the broker devices talk to, and the API's base URL. */
interface Target {
  readonly broker: RunningBroker;
  readonly base: string;
  api(method: string, path: string, options?: ApiOptions): Promise<ApiAnswer>;
  stop(): Promise<void>;
}

const api = (base: string) => (method: string, path: string, options: ApiOptions = {}) => callApi(base, method, path, options);

async function embeddedSqlite(): Promise<Target> {
  const broker = await startOpsBroker();
  return { broker, base: broker.base, api: api(broker.base), stop: () => broker.stop() };
}

/** The embedded broker's MQTT and service over the PostgreSQL store, and the cluster's operator server over the same ledger. */
async function clusterPostgres(url: string): Promise<Target> {
  const opened: OpenedStore = await openStore(url);
  let broker: RunningBroker | null = null;
  let operator: ClusterOperatorServer | null = null;
  try {
    broker = await startBroker({}, undefined, { store: () => opened.store });
    const { app } = broker;
    operator = await serveClusterOperator({
      service: app.service, reads: opened.operatorReads, currency: await opened.store.reads.ledgerCurrency(), operatorToken: OPERATOR_TOKEN,
      clock: app.clock, logger: pino({ level: 'silent' }), online: () => app.mqtt.online, port: 0,
    });
  } catch (error) {
    await broker?.stop();
    await opened.close();
    throw error;
  }
  const running = { broker, operator };
  return {
    broker, base: operator.url, api: api(operator.url),
    async stop() {
      await running.operator.close();
      await running.broker.stop();
      await opened.close();
    },
  };
}

const haveChromium = chromiumFor('the dashboard over PostgreSQL');

// One set of keys and one channel id for both runs, so both ledgers hold the same bytes.
const PAYER = 'car-1';
const PAYEE = 'charger.1';
const VOUCHERS = 25;
const STEP = parseAmount('0.000125');
let keys: Record<string, KeyPair>;
let channelId: Uint8Array;
beforeAll(() => {
  keys = { [PAYER]: generateKeyPair(random), [PAYEE]: generateKeyPair(random) };
  channelId = newChannelId(random);
});

async function expectStatus(answer: Promise<ApiAnswer>, status: number): Promise<any> {
  const settled = await answer;
  expect(settled.status, settled.text).toBe(status);
  return settled.json;
}

/** Enrols and funds through the API, opens and pays a channel over MQTT, settles and pays out through the API. */
async function runScenario(target: Target): Promise<{ settlement: any; fundAgain: any; payout: any }> {
  for (const id of [PAYER, PAYEE]) await expectStatus(target.api('POST', '/api/devices', { body: { id, publicKey: toHex(keys[id]!.publicKey) } }), 201);
  await expectStatus(target.api('POST', `/api/wallets/${PAYER}/fund`, { body: { amount: '10', idempotencyKey: 'fund-1' } }), 201);
  const fundAgain = await expectStatus(target.api('POST', `/api/wallets/${PAYER}/fund`, { body: { amount: '10', idempotencyKey: 'fund-1' } }), 200);
  const payer = await target.broker.link(PAYER, keys[PAYER]!);
  await target.broker.link(PAYEE, keys[PAYEE]!);
  await payer.request('channel.open', { channel: toHex(channelId), payee: PAYEE, deposit: '2.5', durationSeconds: 3600 });
  for (let seq = 1n; seq <= BigInt(VOUCHERS); seq++) {
    const verdict = await payVoucher(payer, signedVoucher(keys[PAYER]!, { channelId, seq, total: (STEP * seq) as Amount }));
    expect(verdict.type).toBe('voucher.accepted');
  }
  const settlement = (await expectStatus(target.api('POST', '/api/settlements'), 201)).settlement;
  const payout = await expectStatus(target.api('POST', `/api/wallets/${PAYEE}/payouts`, { body: { amount: '0.001', idempotencyKey: 'payout-1' } }), 201);
  return { settlement, fundAgain, payout };
}

/** Device limits and a move between wallets. */
async function limitsAndMove(target: Target): Promise<Record<string, any>> {
  const limits = await expectStatus(target.api('PUT', `/api/devices/${PAYER}/limits`, { body: { maxPerPayment: '0.5', maxPerDay: '20', allowPayees: [PAYEE] } }), 200);
  const move = await expectStatus(target.api('POST', `/api/wallets/${PAYER}/moves`, { body: { to: PAYEE, amount: '1.5', idempotencyKey: 'move-1' } }), 201);
  return { limits, move, readLimits: await expectStatus(target.api('GET', `/api/devices/${PAYER}/limits`), 200) };
}

/** Disable and enable the payee (last: the embedded broker closes its live session, which changes who is online). */
async function disableEnable(target: Target): Promise<Record<string, any>> {
  // The cluster's API cannot close a session (RabbitMQ holds it): `disconnected` is compared apart.
  const { disconnected, ...disabled } = await expectStatus(target.api('POST', `/api/devices/${PAYEE}/disable`), 200);
  const enabled = await expectStatus(target.api('POST', `/api/devices/${PAYEE}/enable`), 200);
  const { online: _disabledOnline, ...disabledDevice } = disabled.device;
  const { online: _enabledOnline, ...enabledDevice } = enabled.device;
  return { disabled: { ...disabled, device: disabledDevice }, enabled: { ...enabled, device: enabledDevice, disconnected: undefined }, disconnected: [disconnected, enabled.disconnected] };
}

/** The CLI views over --url, as printed (times and settlement ids out). */
async function cliViews(target: Target): Promise<Record<string, string>> {
  const printed: Record<string, string> = {};
  for (const command of ['devices', 'wallets', 'channels', 'settlements']) {
    const run = await runCli([command, '--url', target.base, '--token', OPERATOR_TOKEN]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.split('\n').length, run.stdout).toBeGreaterThan(3);
    printed[command] = stripTimes(run.stdout);
  }
  return printed;
}

/** The views an operator reads, after the scenario and a force-close. */
async function views(target: Target, settlementId: string): Promise<Record<string, any>> {
  const channel = toHex(channelId);
  const get = (path: string) => expectStatus(target.api('GET', path), 200);
  const before = { devices: await get('/api/devices'), channel: await get(`/api/channels/${channel}`), activity: await get(`/api/devices/${PAYER}/activity`) };
  const close = await expectStatus(target.api('POST', `/api/channels/${channel}/close?immediate=true`), 200);
  const writes = await limitsAndMove(target);
  const views = {
    ...before, close, ...writes,
    device: await get(`/api/devices/${PAYEE}`),
    wallets: await get('/api/wallets'),
    channels: await get('/api/channels'),
    evidence: await get(`/api/channels/${channel}/evidence`),
    settlements: await get('/api/settlements'),
    settlement: await get(`/api/settlements/${settlementId}`),
    summary: await get('/api/summary'),
    ledger: await get('/api/ledger'),
    audit: await get('/api/ledger/audit?verifySignatures=true'),
    export: await get('/api/export?from=2000-01-01&to=2100-01-01'),
    exportPayee: await get(`/api/export?from=2000-01-01&to=2100-01-01&device=${PAYEE}`),
  };
  return { ...views, cli: await cliViews(target), ...(await disableEnable(target)) };
}

// Times differ between two runs, and so do ids a ledger makes from them (settlement ids), and the
// signed bytes that hold times (certificates, vouchers) and their signatures (each broker has its
// own service key): those are compared by length (the audit re-verifies the signatures). The
// rest must be equal.
const TIME_KEYS = /(At|Ms|^time)$/;
const SIGNED_KEYS = /^(bytes|signature|voucher)$/;

function withoutTimes(value: unknown, settlementIds: ReadonlyMap<string, string>): unknown {
  if (typeof value === 'string') return settlementIds.get(value) ?? value;
  if (Array.isArray(value)) return value.map((item) => withoutTimes(item, settlementIds));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => {
    if (TIME_KEYS.test(key) && item !== null) return [key, 'T'];
    if (SIGNED_KEYS.test(key) && typeof item === 'string') return [key, `${item.length} hex`];
    return [key, withoutTimes(item, settlementIds)];
  }));
}

/** Each ledger's settlement ids, in creation order, named by position (the ids carry times). */
function settlementNames(settlements: { items: { id: string }[] }): Map<string, string> {
  return new Map([...settlements.items].reverse().map((item, index) => [item.id, `settlement-${index}`]));
}

describe.skipIf(POSTGRES_MISSING !== null)(`operator API over the PostgreSQL ledger${POSTGRES_MISSING === null ? '' : ` (skipped: ${POSTGRES_MISSING})`}`, () => {
  const database = postgresPerTest();
  const targets: Target[] = [];
  afterEach(async () => {
    for (const target of targets.splice(0)) await target.stop();
  });

  it('answers every view and the CLI as the embedded broker over SQLite does, after API funding, a payout, a settlement, a force-close, limits, a move, disable and enable', async () => {
    const sqlite = await embeddedSqlite();
    targets.push(sqlite);
    const postgres = await clusterPostgres(database.url());
    targets.push(postgres);
    const results = [];
    for (const target of [sqlite, postgres]) {
      const scenario = await runScenario(target);
      results.push({ scenario, views: await views(target, scenario.settlement.id) });
    }
    const [fromSqlite, fromPostgres] = results.map(({ scenario, views }) => withoutTimes({ scenario, views }, settlementNames(views.settlements))) as [any, any];
    // What the scenario must show, on each ledger: 25 vouchers of 0.000125 settled, 0.001 paid out, the rest refunded.
    for (const result of [fromSqlite, fromPostgres]) {
      expect(result.scenario.fundAgain.moved).toBe(false);
      expect(result.scenario.settlement.amount).toBe('0.003125');
      expect(result.views.summary.channels).toEqual({ open: 0, closing: 0, closed: 1, total: 1 });
      expect(result.views.summary.devices).toMatchObject({ enrolled: 2, online: 2 });
      expect(result.views.wallets.items).toEqual([{ device: PAYER, balance: '8.496875', currency: 'EUR' }, { device: PAYEE, balance: '1.502125', currency: 'EUR' }].map((item) => expect.objectContaining(item)));
      expect(result.views.disabled.device.status).toBe('disabled');
      expect(result.views.device.status).toBe('active');
      expect(result.views.readLimits.own).toMatchObject({ maxPerPayment: '0.5', allowPayees: [PAYEE] });
      expect(result.views.audit.ok).toBe(true);
      expect(result.views.activity.vouchers.length).toBeGreaterThan(0);
      expect(result.views.export.rows.length).toBeGreaterThan(4);
    }
    // Only the embedded broker closes a disabled device's session; enabling closes none.
    expect([fromSqlite.views.disconnected, fromPostgres.views.disconnected]).toEqual([[true, false], [false, false]]);
    delete fromSqlite.views.disconnected;
    delete fromPostgres.views.disconnected;
    for (const view of Object.keys(fromSqlite.views)) expect(fromPostgres.views[view], view).toEqual(fromSqlite.views[view]);
    expect(fromPostgres.scenario).toEqual(fromSqlite.scenario);
    // Prometheus' ledger gauges, read from PostgreSQL at the scrape: 8.496875 + 1.502125 in wallets.
    const metrics = await postgres.api('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/\nmqpay_ledger_balance_micro\{kind="wallet"\} 9999000\n/);
    expect(metrics.text).toMatch(/\nmqpay_channels_open 0\n/);
    expect(metrics.text).toMatch(/\nmqpay_settlements_total\{reason="manual"\} 1\n/);

  }, 60_000);

  it.skipIf(!haveChromium)('serves the dashboard over the PostgreSQL ledger: it loads in headless Chromium with the ledger\'s tables, totals and live stream', async () => {
    const postgres = await clusterPostgres(database.url());
    targets.push(postgres);
    await runScenario(postgres);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error') pageErrors.push(message.text());
      });
      await page.goto(`${postgres.base}/`);
      await page.fill('#token-input', OPERATOR_TOKEN);
      await page.click('#token-submit');
      await page.locator('#dashboard').waitFor({ state: 'visible' });
      await expect.poll(() => page.textContent('#live-status'), { timeout: 10_000 }).toBe('live');
      await expect.poll(() => page.locator('#wallets tr[data-wallet]').count()).toBe(2);
      await expect.poll(() => page.locator('#channels tr[data-channel]').count()).toBe(1);
      await expect.poll(() => page.textContent('#summary')).toMatch(/Devices online2 \/ 2/);
      expect(await page.textContent('#devices')).toContain(PAYEE);
      expect(pageErrors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});

/** Dates, times and settlement ids (made from times) out of a CLI table. */
const stripTimes = (text: string): string => text.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z|\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?|\b(epoch|manual|close)-[0-9a-z-]+/g, '~');
