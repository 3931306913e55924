// End to end in a real browser: headless Chromium (Debian's `chromium`, driven by playwright-core)
// opens the dashboard served by a real broker while a small fleet pays, enters the operator token
// once, and sees settlements appear live (no reload), with the charts and tables filled in. It
// saves a screenshot to test-output/dashboard.png (the README's docs/dashboard.png is the fleet's,
// refreshed by test/ops-dashboard-fleet.test.ts with MQPAY_UPDATE_SCREENSHOTS=1).
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR_TOKEN, settledResult } from './helpers/broker-fixture.js';
import { CHROMIUM, CHROMIUM_ARGS, chromiumFor } from './helpers/chromium.js';
import { startOpsBroker, type OpsBroker } from './helpers/ops-fixture.js';
import { openLiveEvents } from './helpers/ops-sse.js';
import { startTraffic, type Traffic } from './helpers/ops-traffic.js';

const SCREENSHOT = 'test-output/dashboard.png';
const haveChromium = chromiumFor('the dashboard browser test');

describe.skipIf(!haveChromium)('dashboard in headless Chromium', () => {
  let broker: OpsBroker;
  let traffic: Traffic;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    broker = await startOpsBroker();
    traffic = await startTraffic(broker, [
      { payer: 'car-1', payee: 'charger-1', step: '0.00042', burst: 6 },
      { payer: 'car-2', payee: 'charger-2', step: '0.00035', burst: 4 },
      { payer: 'fridge-1', payee: 'dispenser-1', step: '0.0012', burst: 2 },
      { payer: 'car-3', payee: 'toll-gate-1', step: '0.0009', burst: 3 },
    ]);
    broker.enrol('parking-meter-1');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1440, height: 1080 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await traffic?.stop();
    await broker?.stop();
  });

  it('asks for the token once, then shows settlements live without reloading', async () => {
    await page.goto(`${broker.base}/`);
    await page.locator('#token-gate').waitFor({ state: 'visible' });
    await page.fill('#token-input', 'not-the-operator-token');
    await page.click('#token-submit');
    await expect.poll(() => page.textContent('#token-error')).toContain('refused');
    await page.fill('#token-input', OPERATOR_TOKEN);
    await page.click('#token-submit');
    await page.locator('#dashboard').waitFor({ state: 'visible' });
    expect(await page.evaluate('sessionStorage.getItem("mqpay.operatorToken")')).toBe(OPERATOR_TOKEN);
    pageErrors.length = 0; // the refused token above logged its 401
    await expect.poll(() => page.textContent('#live-status'), { timeout: 10_000 }).toBe('live');

    // Marks this document: a reload would lose the mark.
    await page.evaluate('window.mqpayNoReload = true');
    let navigations = 0;
    page.on('framenavigated', () => (navigations += 1));

    // Each round settles once the broker's next vouchers/s sample (one a second) shows vouchers
    // accepted since the last settlement: there is something to settle, and the settlements
    // spread over the charts' time axis.
    const live = await openLiveEvents(broker.base, OPERATOR_TOKEN);
    try {
      for (let round = 0; round < 5; round++) {
        const accepted = broker.app.service.telemetry.vouchersAccepted;
        await live.next('rate', (sample: { vouchersAccepted: number }) => sample.vouchersAccepted > accepted, 10_000);
        const settled = await settledResult(broker.app.service.settleNow());
        expect(settled).not.toBeNull();
        await page.locator(`#settlement-feed [data-settlement="${settled?.id}"]`).waitFor({ timeout: 10_000 });
      }
    } finally {
      live.close();
    }
    expect(await page.evaluate('window.mqpayNoReload')).toBe(true);
    expect(navigations).toBe(0);
    expect(await page.locator('#settlement-feed li').count()).toBe(5);

    // Charts and tables are filled in from the API and the live stream.
    await expect.poll(() => page.locator('#chart-rate path.series').getAttribute('d'), { timeout: 10_000 }).toMatch(/^M[\d.]+ [\d.]+( L[\d.]+ [\d.]+){5,}/);
    expect(await page.locator('#chart-settled circle.dot').count()).toBe(5);
    await expect.poll(() => page.locator('#wallets tr[data-wallet]').count()).toBe(9);
    await expect.poll(() => page.locator('#channels tr[data-channel]').count()).toBe(4);
    await expect.poll(() => page.locator('#devices td.online').count()).toBe(8);
    expect(await page.textContent('#devices')).toContain('parking-meter-1');
    await expect.poll(() => page.textContent('#summary')).toMatch(/Devices online8 \/ 9/);
    expect(pageErrors).toEqual([]);

    mkdirSync('test-output', { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
  });

  it('keeps the token for the browser session: a reload goes straight to the dashboard', async () => {
    await page.reload();
    await page.locator('#dashboard').waitFor({ state: 'visible' });
    expect(await page.locator('#token-gate').isHidden()).toBe(true);
    await expect.poll(() => page.textContent('#live-status'), { timeout: 10_000 }).toBe('live');
    expect(pageErrors).toEqual([]);
  });
});
