// The dashboard against a fleet, in headless Chromium (Debian's `chromium` through
// playwright-core): 200 devices connected over real MQTT to a real broker, 200 channels opened
// and paid through it and settled, plus 10 enrolled devices that never connect. The page's
// totals equal the API's (SQL aggregates: 200 open channels, more than the channel table's page
// of 100); a rogue's attacks show as alarms within a bound (waiting on the DOM); an action
// confirmed in its dialog takes effect (the API shows the device disabled), a cancelled one does
// not; device pages open from the tables and the search box; and at 390 px the page never
// scrolls sideways. With MQPAY_UPDATE_SCREENSHOTS=1 it refreshes docs/dashboard.png.
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import type { DeviceLink } from '../agent/link/link.js';
import { displayAmount } from '../broker/operator/dashboard/format.js';
import { summaryView } from '../broker/operator/http/dashboard-views.js';
import { parseAmount, type Amount } from '../shared/amount.js';
import { toHex } from '../shared/hex.js';
import type { KeyPair } from '../shared/keys.js';
import { outboxTopic } from '../shared/topics.js';
import { OPERATOR_TOKEN, payVoucher, settledResult, signedVoucher } from './helpers/broker-fixture.js';
import { deviceClient, openChannel } from './helpers/broker-adversary.js';
import { CHROMIUM, CHROMIUM_ARGS, chromiumFor } from './helpers/chromium.js';
import { startOpsBroker, type OpsBroker } from './helpers/ops-fixture.js';

const UPDATE = process.env.MQPAY_UPDATE_SCREENSHOTS === '1';
const haveChromium = chromiumFor('the dashboard fleet test');

const PAIRS = 100; // 100 payers and 100 payees: 200 connected devices
const OFFLINE = 10; // enrolled, never connected
const CHANNELS_PER_PAYER = 2;
const STEP = parseAmount('0.0125');
/** How long an alarm may take from the attack to the page: the push period (1 s) plus slack. */
const ALARM_BOUND_MS = 5_000;
const PHONE = { width: 390, height: 844 };

interface Payer {
  readonly id: string;
  readonly keys: KeyPair;
  readonly link: DeviceLink;
  readonly channels: Uint8Array[];
}

/** Runs `task` over `items`, `width` at a time (200 MQTT handshakes without a thundering herd). */
async function inBatches<T, R>(items: readonly T[], width: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += width) {
    results.push(...(await Promise.all(items.slice(start, start + width).map((item, offset) => task(item, start + offset)))));
  }
  return results;
}

/** Enrols, connects, opens two channels per payer and pays each twice, through the real broker. */
async function buildFleet(broker: OpsBroker): Promise<Payer[]> {
  const ids = Array.from({ length: PAIRS }, (_, i) => i);
  const payees = ids.map((i) => ({ id: `charger-${i}`, keys: broker.enrol(`charger-${i}`) }));
  const payerKeys = ids.map((i) => ({ id: `car-${i}`, keys: broker.enrol(`car-${i}`, '10') }));
  for (let i = 0; i < OFFLINE; i++) broker.enrol(`meter-${i}`);
  await inBatches(payees, 25, (payee) => broker.link(payee.id, payee.keys));
  const payers = await inBatches(payerKeys, 25, async (payer, i): Promise<Payer> => {
    const link = await broker.link(payer.id, payer.keys);
    const channels: Uint8Array[] = [];
    for (let k = 0; k < CHANNELS_PER_PAYER; k++) channels.push(await openChannel(link, `charger-${(i + k) % PAIRS}`, '2'));
    return { ...payer, link, channels };
  });
  await inBatches(payers, 25, async (payer) => {
    for (const channelId of payer.channels) {
      for (const seq of [1n, 2n]) {
        const verdict = await payVoucher(payer.link, signedVoucher(payer.keys, { channelId, seq, total: (STEP * seq) as Amount }));
        if (verdict.type !== 'voucher.accepted') throw new Error(`fleet voucher refused: ${JSON.stringify(verdict)}`);
      }
    }
  });
  await settledResult(broker.app.service.settleNow());
  return payers;
}

async function summaryOf(broker: OpsBroker) {
  return summaryView.parse((await broker.api('GET', '/api/summary')).json);
}

const statValue = (page: Page, key: string): Promise<string | null> => page.getAttribute(`[data-stat="${key}"] .value`, 'data-value');
const alarmValue = async (page: Page, key: string): Promise<number> => Number(await page.getAttribute(`[data-alarm="${key}"] .value`, 'data-value'));
const pageWidth = (page: Page): Promise<number> => page.evaluate<number>('document.scrollingElement.scrollWidth');
const showOverview = (page: Page): Promise<unknown> => page.evaluate("window.location.hash = ''");

describe.skipIf(!haveChromium)('dashboard with a fleet of 200 devices, in headless Chromium', () => {
  let broker: OpsBroker;
  let payers: Payer[];
  let rogue: MqttClient;
  let rogueKeys: KeyPair;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    broker = await startOpsBroker();
    payers = await buildFleet(broker);
    rogueKeys = broker.enrol('rogue-1');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // A refused API call (the withdrawal's 404 before payouts exist) is logged by Chromium as a
    // failed resource; the page shows it. Anything else on the console is a defect.
    page.on('console', (message) => {
      if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) pageErrors.push(message.text());
    });
    await page.goto(`${broker.base}/`);
    await page.fill('#token-input', OPERATOR_TOKEN);
    await page.click('#token-submit');
    await page.locator('#live-status', { hasText: /^live$/ }).waitFor({ timeout: 10_000 });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    rogue?.end(true);
    await broker?.stop();
  });

  it('shows totals equal to the API aggregates, beyond the one page of channels the table lists', async () => {
    const summary = await summaryOf(broker);
    // The fleet as built: the API counts it all.
    expect(summary.devices).toEqual({ enrolled: 2 * PAIRS + OFFLINE + 1, active: 2 * PAIRS + OFFLINE + 1, disabled: 0, online: 2 * PAIRS });
    expect(summary.channels).toEqual({ open: PAIRS * CHANNELS_PER_PAYER, closing: 0, closed: 0, total: PAIRS * CHANNELS_PER_PAYER });
    expect(summary.settled.settlements).toBe(1);
    const count = (n: number) => n.toLocaleString('en-US');
    await expect.poll(() => statValue(page, 'open-channels'), { timeout: 10_000 }).toBe(count(summary.channels.open));
    await expect.poll(() => statValue(page, 'online'), { timeout: 10_000 }).toBe(`${count(summary.devices.online)} / ${count(summary.devices.enrolled)}`);
    expect(await statValue(page, 'escrow')).toBe(displayAmount(summary.ledger.escrow.balance));
    expect(await statValue(page, 'wallets')).toBe(displayAmount(summary.ledger.wallets.balance));
    expect(await statValue(page, 'settled')).toBe(displayAmount(summary.settled.amount));
    // The table shows its page; the card counts everything.
    expect(await page.locator('#channels tr[data-channel]').count()).toBe(100);
    expect(await page.textContent('#channel-count')).toBe(`newest 100 of ${count(summary.channels.total)}`);
    expect(pageErrors).toEqual([]);
  });

  it("shows a rogue's attacks as alarms within the bound: another device's outbox, a forged voucher", async () => {
    await expect.poll(() => alarmValue(page, 'acl'), { timeout: 10_000 }).toBe(0);
    rogue = await deviceClient(broker, 'rogue-1', rogueKeys, { reconnectPeriod: 0 });
    // A voucher on car-0's channel signed with the rogue's key, from its own outbox: rejected.
    const forged = signedVoucher(rogueKeys, { channelId: payers[0]?.channels[0] ?? new Uint8Array(32), seq: 9n, total: (STEP * 9n) as Amount });
    rogue.publish(outboxTopic('rogue-1', 'voucher'), Buffer.from(JSON.stringify(forged)), { qos: 0 });
    // Publishing into car-1's outbox: an ACL violation (the broker closes the rogue's session).
    rogue.publish(outboxTopic('car-1', 'voucher'), Buffer.from(JSON.stringify(forged)), { qos: 0 });
    await page.locator('#alarm-list li[data-alarm-kind="acl.violation"]').first().waitFor({ timeout: ALARM_BOUND_MS });
    await page.locator('#alarm-list li[data-alarm-kind="voucher.rejected"]').first().waitFor({ timeout: ALARM_BOUND_MS });
    expect(await alarmValue(page, 'acl')).toBeGreaterThanOrEqual(1);
    expect(await alarmValue(page, 'rejected')).toBeGreaterThanOrEqual(1);
    expect(await page.textContent('#alarm-list')).toContain('rogue-1');
    const counts = (await broker.api('GET', '/api/alarms')).json.counts;
    expect(await alarmValue(page, 'acl')).toBe(counts.aclViolations);
    expect(pageErrors).toEqual([]);
    mkdirSync('test-output', { recursive: true });
    await page.screenshot({ path: UPDATE ? 'docs/dashboard.png' : 'test-output/dashboard-fleet.png', fullPage: true });
  });

  it('opens a device page from a table, and acts only once the dialog is confirmed', async () => {
    await page.click('#devices a[data-device-link="car-5"]');
    await expect.poll(() => page.textContent('#device-title')).toBe('car-5');
    expect(await page.locator('#device-view tr[data-channel]').count()).toBe(CHANNELS_PER_PAYER);
    expect(await page.textContent('#device-view')).toContain('2 as payer · 0 as payee');

    // Cancelled: nothing happens.
    await page.click('#device-view button[data-action="disable"]');
    await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
    expect(await page.textContent('#confirm-title')).toBe('Disable car-5?');
    await page.click('#confirm-cancel');
    await page.locator('#confirm-dialog').waitFor({ state: 'hidden' });
    expect((await broker.api('GET', '/api/devices/car-5')).json.status).toBe('active');

    // Force-close one of its channels: the API shows the dispute window.
    const channelHex = toHex(payers[5]?.channels[0] ?? new Uint8Array());
    await page.click(`#device-view tr[data-channel="${channelHex}"] button[data-action="close-channel"]`);
    await page.click('#confirm-ok');
    await expect.poll(() => page.textContent('#action-result')).toMatch(/^channel [0-9a-f]{8}… closing until /);
    expect((await broker.api('GET', `/api/channels/${channelHex}`)).json.state).toBe('closing');

    // Confirmed: the device is disabled, its session closed, and its other paying channel closing too.
    await page.click('#device-view button[data-action="disable"]');
    await page.click('#confirm-ok');
    await expect.poll(() => page.textContent('#action-result')).toBe('car-5 disabled');
    const device = (await broker.api('GET', '/api/devices/car-5')).json;
    expect(device.status).toBe('disabled');
    await expect.poll(async () => (await broker.api('GET', '/api/devices/car-5')).json.online, { timeout: 5_000 }).toBe(false);
    await expect.poll(() => page.textContent('#device-status')).toBe('disabled');

    const other = toHex(payers[5]?.channels[1] ?? new Uint8Array());
    expect((await broker.api('GET', `/api/channels/${other}`)).json.state).toBe('closing');

    // Settle now, from the top bar: one more voucher is there to settle.
    const car0 = payers[0] as Payer;
    const channel0 = car0.channels[0] as Uint8Array;
    expect((await payVoucher(car0.link, signedVoucher(car0.keys, { channelId: channel0, seq: 3n, total: (STEP * 3n) as Amount }))).type).toBe('voucher.accepted');
    await page.click('#settle-now');
    expect(await page.textContent('#confirm-title')).toBe('Settle now?');
    await page.click('#confirm-ok');
    await expect.poll(() => page.textContent('#action-result')).toMatch(/^settled 0\.0125 over 1 channels \(manual-\d+\)$/);

    // Withdraw: asks for an amount and posts a payout with a fresh idempotency key
    // (POST /api/wallets/{device}/payouts); the answer's balance is shown.
    await page.click('#device-view button[data-action="withdraw"]');
    await page.fill('#confirm-amount', '1');
    await page.click('#confirm-ok');
    await expect.poll(() => page.textContent('#action-result')).toMatch(/^withdrew 1 from car-5; balance \d+(\.\d+)?$/);
    expect(pageErrors).toEqual([]);
    await page.screenshot({ path: 'test-output/dashboard-device.png', fullPage: true });
  });

  it('finds a device from the search box', async () => {
    await page.fill('#device-search', 'charger-7');
    await page.click('#device-search-go');
    await expect.poll(() => page.textContent('#device-title')).toBe('charger-7');
    expect(await page.textContent('#device-view')).toContain('0 as payer · 2 as payee');
    await page.fill('#device-search', 'nobody-here');
    await page.click('#device-search-go');
    await expect.poll(() => page.textContent('#device-view')).toContain('DEVICE_UNKNOWN');
  });

  it('is readable at 390 px: neither the overview nor a device page scrolls sideways', async () => {
    await showOverview(page);
    await page.setViewportSize(PHONE);
    await page.locator('#overview').waitFor({ state: 'visible' });
    await expect.poll(() => statValue(page, 'open-channels')).not.toBeNull();
    expect(await pageWidth(page)).toBeLessThanOrEqual(PHONE.width);
    await page.click('#wallets a[data-device-link="car-0"]');
    await expect.poll(() => page.textContent('#device-title')).toBe('car-0');
    expect(await pageWidth(page)).toBeLessThanOrEqual(PHONE.width);
    await showOverview(page);
    await page.locator('#overview').waitFor({ state: 'visible' });
    mkdirSync('test-output', { recursive: true });
    await page.screenshot({ path: UPDATE ? 'docs/dashboard-phone.png' : 'test-output/dashboard-phone.png', fullPage: false });
    expect(pageErrors).toEqual([]);
  });
});
