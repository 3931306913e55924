// Revocation through a real broker [docs/DESIGN.md rule 12]: `mqpay device disable` opens the
// dispute window of every channel where the device pays (not those where it is paid), closes
// its session and refuses its connections with CONNACK 2, which its link reports as
// DEVICE_DISABLED; the channels settle once the window ends; `mqpay device enable` lets it pay
// again. The agent reports DEVICE_DISABLED (log line, failed `pay`, `agent run` exits) and
// stops reconnecting every second. A disabled device's balance moves to its replacement
// (`mqpay wallet move`), and the audit holds.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../agent/agent.js';
import { DeviceLink } from '../agent/link/link.js';
import { DISABLED_RECONNECT_MS_DEFAULT } from '../agent/limits.js';
import { operatorHttpHandler } from '../broker/operator/http/operator-api.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { balanceOf } from '../broker/store/sqlite/ledger.js';
import { walletAccount } from '../broker/store/accounts.js';
import { parseAmount } from '../shared/amount.js';
import { MqpayError } from '../shared/errors.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import type { KeyPair } from '../shared/keys.js';
import { nextInbox, OPERATOR_TOKEN, payVoucher, random, signedVoucher, startBroker, tempDir, type RunningBroker } from './helpers/broker-fixture.js';
import { runCli, startCli } from './helpers/ops-cli.js';

const CLOSE_WINDOW_SECONDS = 60;
let offsetMs = 0;
const clock = { nowMs: () => Date.now() + offsetMs };

async function open(link: DeviceLink, payee: string, deposit: string): Promise<Uint8Array> {
  const channelId = newChannelId(random);
  await link.request('channel.open', { channel: toHex(channelId), payee, deposit, durationSeconds: 86_400 });
  return channelId;
}

/** The next CONNACK refusal a link reports. */
const nextRefusal = (link: DeviceLink): Promise<MqpayError> => new Promise((resolve) => link.once('refused', resolve));

describe('device disable and enable', () => {
  const dir = tempDir('mqpay-revocation-');
  let broker: RunningBroker;
  let url: string[];
  let fridgeKeys: KeyPair;

  beforeAll(async () => {
    broker = await startBroker({ httpPort: 0, closeWindowSeconds: CLOSE_WINDOW_SECONDS }, dir.path, { clock, httpHandler: operatorHttpHandler() });
    url = ['--url', `http://127.0.0.1:${broker.httpPort ?? 0}`, '--token', OPERATOR_TOKEN];
    fridgeKeys = broker.enrol('fridge-7', '20');
  });
  afterAll(async () => {
    await broker.stop();
    dir.remove();
  });

  it("disable: the device's paying channels close after the window, its connections are refused; enable: it pays again", async () => {
    const shopKeys = broker.enrol('shop-7', '5');
    broker.enrol('grocer-7');
    const fridge = await broker.link('fridge-7', fridgeKeys);
    const shop = await broker.link('shop-7', shopKeys);
    const toShop = await open(fridge, 'shop-7', '4');
    const toGrocer = await open(fridge, 'grocer-7', '3');
    const fromShop = await open(shop, 'fridge-7', '2');
    expect(await payVoucher(fridge, signedVoucher(fridgeKeys, { channelId: toShop, seq: 1n, total: parseAmount('1.5') }))).toMatchObject({ type: 'voucher.accepted' });

    const closingNotice = nextInbox(shop, 'notice', (m) => m.type === 'channel.closing' && m.channel === toHex(toShop));
    const refused = nextRefusal(fridge);
    const disabled = await runCli(['device', 'disable', 'fridge-7', ...url]);
    expect(disabled.stdout).toBe('disabled fridge-7: its live session was closed; its connections are refused (DEVICE_DISABLED); 2 channel(s) where it pays are closing (dispute window open)\n');
    expect(await closingNotice).toMatchObject({ by: 'operator' });
    for (const id of [toShop, toGrocer]) expect(getChannel(broker.app.db, id)).toMatchObject({ state: 'closing', closeRequestedBy: 'operator' });
    expect(getChannel(broker.app.db, fromShop)).toMatchObject({ state: 'open', closeRequestedBy: null });
    // The link's own reconnect is answered CONNACK 2, which it reports as DEVICE_DISABLED.
    expect((await refused).code).toBe('DEVICE_DISABLED');
    await expect(broker.link('fridge-7', fridgeKeys)).rejects.toMatchObject({ code: 'DEVICE_DISABLED' });
    // A second disable changes nothing more; --data cannot do it (the service must).
    expect((await runCli(['device', 'disable', 'fridge-7', ...url])).stdout).toContain('0 channel(s) where it pays are closing');
    const viaData = await runCli(['device', 'disable', 'fridge-7', '--data', dir.path]);
    expect(viaData).toMatchObject({ code: 2 });
    expect(viaData.stderr).toContain('device disable needs the running broker');

    // The window ends: both settle (the shop is paid what it was owed, the rest is refunded).
    offsetMs += (CLOSE_WINDOW_SECONDS + 1) * 1000;
    expect(await broker.app.service.closeDue()).toBe(2);
    for (const id of [toShop, toGrocer]) expect(getChannel(broker.app.db, id)).toMatchObject({ state: 'closed', closeRequestedBy: 'operator' });
    expect(balanceOf(broker.app.db, walletAccount('fridge-7'))).toBe(parseAmount('18.5'));

    // Its replacement takes over the whole balance: one audited, idempotent move.
    broker.enrol('fridge-8');
    const moved = await runCli(['wallet', 'move', 'fridge-7', 'fridge-8', '18.5', '--id', 'replace-fridge-7', ...url]);
    expect(moved.code, moved.stderr).toBe(0);
    expect((await runCli(['wallet', 'move', 'fridge-7', 'fridge-8', '18.5', '--id', 'replace-fridge-7', ...url])).code).toBe(0); // a retry moves nothing
    expect(balanceOf(broker.app.db, walletAccount('fridge-7'))).toBe(0n);
    expect(balanceOf(broker.app.db, walletAccount('fridge-8'))).toBe(parseAmount('18.5'));
    const audit = await runCli(['ledger', 'check', ...url]);
    expect(audit.code, audit.stdout).toBe(0);
    expect((await runCli(['wallet', 'fund', 'fridge-7', '1', '--id', 'fridge-7-back', ...url])).code).toBe(0);

    expect((await runCli(['device', 'enable', 'fridge-7', ...url])).stdout).toBe('enabled fridge-7: it may connect and open channels again\n');
    const back = await broker.link('fridge-7', fridgeKeys);
    const again = await open(back, 'shop-7', '1');
    expect(await payVoucher(back, signedVoucher(fridgeKeys, { channelId: again, seq: 1n, total: parseAmount('0.5') }))).toMatchObject({ type: 'voucher.accepted' });
  });

  it('a disabled device is retried rarely, not every second, and comes back once enabled', async () => {
    const keys = broker.enrol('meter-7', '1');
    await runCli(['device', 'disable', 'meter-7', ...url]);
    const base = { url: broker.url, device: 'meter-7', secretKey: keys.secretKey, brokerId: broker.app.config.brokerId, clock, random, reconnectPeriodMs: 20 };
    const rare = DeviceLink.open(base);
    const quick = DeviceLink.open({ ...base, disabledReconnectMs: 50 });
    try {
      expect((await nextRefusal(rare)).code).toBe('DEVICE_DISABLED');
      await nextRefusal(quick);
      // Armed for the next try: the long interval, not the 20 ms backoff.
      expect(rare.client.options.reconnectPeriod).toBe(DISABLED_RECONNECT_MS_DEFAULT);
      expect(await rare.whenConnected(60_000)).toBe(false);
      const connected = new Promise<void>((resolve) => quick.once('connect', resolve));
      await runCli(['device', 'enable', 'meter-7', ...url]);
      await connected;
      expect(quick.refusal).toBeNull();
    } finally {
      await rare.close();
      await quick.close();
    }
  });

  it('a library agent started while disabled: the payment it made before the refusal came, and the next, fail with DEVICE_DISABLED', async () => {
    const home = join(dir.path, 'van');
    const init = await runCli(['agent', 'init', '--home', home, '--id', 'van-7', '--service-key-file', join(dir.path, 'service.pub')]);
    expect((await runCli(['device', 'add', 'van-7', '--public-key', init.stdout.trim().split('\n').pop() ?? '', '--data', dir.path])).code).toBe(0);
    expect((await runCli(['wallet', 'fund', 'van-7', '10', '--data', dir.path])).code).toBe(0);
    broker.enrol('kiosk-7');
    const first = await createAgent({ home, brokerUrl: broker.url, clock });
    expect((await first.pay('kiosk-7', '0.1')).seq).toBe(1n);
    await first.stop();
    await runCli(['device', 'disable', 'van-7', ...url]);

    // Started without waiting for the broker: the payment is signed against the channel the
    // agent knows (its close is news the agent has not heard) and waits; the refusal ends it.
    const agent = await createAgent({ home, brokerUrl: broker.url, clock, connectWaitMs: 0 });
    try {
      const refused = new Promise<MqpayError>((resolve) => agent.onRefused(resolve));
      await expect(agent.pay('kiosk-7', '0.1', { timeoutMs: 60_000 })).rejects.toMatchObject({ code: 'DEVICE_DISABLED' });
      expect((await Promise.race([refused, Promise.resolve(agent.refusal)]))?.code).toBe('DEVICE_DISABLED');
      await expect(agent.pay('kiosk-7', '0.1')).rejects.toMatchObject({ code: 'DEVICE_DISABLED' });
      expect(agent.connected).toBe(false);
    } finally {
      await agent.stop();
    }
  });

  it('the agent reports DEVICE_DISABLED: `pay` fails with it, `agent run` exits with it, and both pay again once enabled', async () => {
    const home = join(dir.path, 'car');
    const init = await runCli(['agent', 'init', '--home', home, '--id', 'car-7', '--service-key-file', join(dir.path, 'service.pub')]);
    const publicKey = init.stdout.trim().split('\n').pop() ?? '';
    expect((await runCli(['device', 'add', 'car-7', '--public-key', publicKey, '--data', dir.path])).code).toBe(0);
    expect((await runCli(['wallet', 'fund', 'car-7', '10', '--data', dir.path])).code).toBe(0);
    broker.enrol('charger-7');
    const agent = ['--home', home, '--broker', broker.url];
    expect((await runCli(['agent', 'pay', 'charger-7', '0.1', ...agent])).code).toBe(0);

    const running = startCli(['agent', 'run', ...agent, '--log-level', 'info']);
    await running.waitFor('"msg":"connected"', 'stderr');
    await runCli(['device', 'disable', 'car-7', ...url]);
    // It ends by itself (nobody asked it to stop) with DEVICE_DISABLED, exit 1.
    await running.waitFor('error DEVICE_DISABLED', 'stderr');
    expect(await running.stop()).toBe(1);
    expect(running.stderr()).toContain('DEVICE_DISABLED: the operator disabled this device');
    expect(running.stderr()).toContain('error DEVICE_DISABLED');

    const refused = await runCli(['agent', 'pay', 'charger-7', '0.1', ...agent, '--timeout-ms', '20000', '--log-level', 'error']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error DEVICE_DISABLED: device is disabled: the broker refused the connection (CONNACK 2');
    expect(refused.stderr).toContain('"code":"DEVICE_DISABLED"');

    await runCli(['device', 'enable', 'car-7', ...url]);
    const paid = await runCli(['agent', 'pay', 'charger-7', '0.1', ...agent]);
    expect(paid.stderr).toBe('');
    expect(paid.stdout).toContain('paid 0.1 to charger-7');
  });
});
