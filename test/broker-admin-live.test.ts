// The admin commands work on the data directory while the broker runs (SQLite WAL), and the
// broker sees their changes at once: a device enrolled by the CLI can connect, a wallet funded
// by the CLI can open a channel. Also: devices reach the broker over MQTT-over-WebSocket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { signConnectPassword } from '../shared/connect-token.js';
import { sign } from '../shared/crypto.js';
import { inboxFilter, outboxTopic } from '../shared/topics.js';
import { newChannelId } from '../shared/ids.js';
import { toHex } from '../shared/hex.js';
import { generateKeyPair } from '../shared/keys.js';
import { random, startBroker, tempDir, type RunningBroker } from './helpers/broker-fixture.js';
import { runCli } from './helpers/ops-cli.js';

// The admin commands through `main`, in this process (the built bin's own smoke tests are in
// ops-cli.test.ts): each still opens the data directory's SQLite file on its own connection.
const mqpay = (...args: string[]) => runCli(args);

describe('admin commands against a running broker', () => {
  const dir = tempDir('mqpay-admin-');
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker({ httpPort: 0 }, dir.path);
  });
  afterAll(async () => {
    await broker.stop();
    dir.remove();
  });

  it('enrols and funds through the CLI while the broker runs; the broker sees both at once', async () => {
    const car = generateKeyPair(random);
    const meter = generateKeyPair(random);
    expect((await mqpay('device', 'add', 'car-7', '--public-key', toHex(car.publicKey), '--data', dir.path)).code).toBe(0);
    expect((await mqpay('device', 'add', 'meter-7', '--public-key', toHex(meter.publicKey), '--data', dir.path)).code).toBe(0);
    const funded = await mqpay('wallet', 'fund', 'car-7', '12.5', '--data', dir.path, '--id', 'grant-1');
    expect(funded.stdout).toContain('balance 12.5');
    const again = await mqpay('wallet', 'fund', 'car-7', '12.5', '--data', dir.path, '--id', 'grant-1');
    expect(again.stdout).toContain('already funded');

    const link = await broker.link('car-7', car);
    expect(await link.request('wallet.balance', {})).toEqual({ device: 'car-7', balance: '12.5' });
    const opened = await link.request('channel.open', { channel: toHex(newChannelId(random)), payee: 'meter-7', deposit: '10', durationSeconds: 600 });
    expect(opened.channel).toMatchObject({ deposit: '10', state: 'open' });

    const check = await mqpay('ledger', 'check', '--data', dir.path);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('all accounts sum to zero');
    expect(check.stdout).toMatch(/ledger ok: \d+ checks hold/);
  });

  it('refuses bad admin input with a clear message and a non-zero exit', async () => {
    const badKey = await mqpay('device', 'add', 'x-1', '--public-key', '00'.repeat(32), '--data', dir.path);
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toContain('KEY_INVALID');
    const badAmount = await mqpay('wallet', 'fund', 'car-7', '1.0000001', '--data', dir.path);
    expect(badAmount.code).toBe(1);
    expect(badAmount.stderr).toContain('AMOUNT_INVALID');
    const unknown = await mqpay('wallet', 'fund', 'nobody', '1', '--data', dir.path);
    expect(unknown.stderr).toContain('DEVICE_UNKNOWN');
    const missing = await mqpay('ledger', 'check');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--data DIR or --url http://HOST:PORT is required');
  });

  it('accepts devices over MQTT-over-WebSocket on the HTTP port', async () => {
    const keys = broker.enrol('browser-1', '1');
    const password = signConnectPassword({ device: 'browser-1', broker: 'mqpay', timeMs: Date.now(), nonce: random(16), secretKey: keys.secretKey, sign });
    const client = await mqtt.connectAsync(`ws://127.0.0.1:${broker.httpPort}/mqtt`, { clientId: 'browser-1', username: 'browser-1', password: Buffer.from(password) as unknown as string, protocolVersion: 4, reconnectPeriod: 0 });
    await client.subscribeAsync(inboxFilter('browser-1'), { qos: 1 });
    const reply = new Promise<string>((resolve) => client.once('message', (_topic, payload) => resolve(payload.toString())));
    await client.publishAsync(outboxTopic('browser-1', 'rpc'), JSON.stringify({ v: 3, id: 'ws-1', method: 'wallet.balance', params: {} }), { qos: 1 });
    expect(JSON.parse(await reply)).toEqual({ v: 3, id: 'ws-1', ok: true, result: { device: 'browser-1', balance: '1' } });
    await client.endAsync();
  });
});

describe('connect token replay across a broker restart', () => {
  it('refuses a token captured before the restart', async () => {
    const dir = tempDir('mqpay-replay-');
    const first = await startBroker({}, dir.path);
    const keys = first.enrol('van-1');
    const password = Buffer.from(signConnectPassword({ device: 'van-1', broker: 'mqpay', timeMs: Date.now(), nonce: random(16), secretKey: keys.secretKey, sign }));
    const options = { clientId: 'van-1', username: 'van-1', password: password as unknown as string, protocolVersion: 4 as const, reconnectPeriod: 0 };
    const client = await mqtt.connectAsync(first.url, options);
    await client.endAsync();
    await first.app.close();

    const second = await startBroker({}, dir.path);
    await expect(mqtt.connectAsync(second.url, options)).rejects.toThrow(/Bad username or password|Connection refused/i);
    expect(second.app.service.telemetry.authFailures).toBe(1);
    await second.stop();
    dir.remove();
  });
});
