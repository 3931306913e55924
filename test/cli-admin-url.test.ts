// The admin commands against a running broker (--url with the operator token) as well as its data
// directory (--data), through the same `main` the bin calls: device add, device list, wallet fund
// (idempotent by --id), ledger check, channel evidence, settle. A refused token and a broker that
// is not there are each one line naming the URL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR_TOKEN, random } from './helpers/broker-fixture.js';
import { freePort } from './helpers/agent-fixture.js';
import { runCli } from './helpers/ops-cli.js';
import { openPayingChannel, startOpsBroker, type OpsBroker, type PayingChannel } from './helpers/ops-fixture.js';
import { generateKeyPair } from '../shared/keys.js';
import { toHex } from '../shared/hex.js';

let broker: OpsBroker;
let channel: PayingChannel;
const url = (): string[] => ['--url', broker.base, '--token', OPERATOR_TOKEN];

beforeAll(async () => {
  broker = await startOpsBroker();
  channel = await openPayingChannel(broker, { payer: 'car-7', payee: 'charger-7' }, { funds: '10', deposit: '2', step: '0.5' });
  await channel.pay(2);
});
afterAll(async () => {
  await broker.stop();
});

describe('admin commands over --url', () => {
  it('device add enrols through the API; device list shows it online-aware', async () => {
    const publicKey = toHex(generateKeyPair(random).publicKey);
    const added = await runCli(['device', 'add', 'meter-7', '--public-key', publicKey, ...url()]);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toBe('enrolled meter-7\n');
    const again = await runCli(['device', 'add', 'meter-7', '--public-key', publicKey, ...url()]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('error DEVICE_EXISTS');
    const listed = await runCli(['device', 'list', ...url()]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/\nmeter-7\s+active\s+offline\s+0\s+/);
    expect(listed.stdout).toMatch(/\ncar-7\s+active\s+online\s+/);
    const init = await runCli(['device', 'add', 'meter-8', '--public-key', publicKey, '--init', ...url()]);
    expect(init.code).toBe(2);
  });

  it('wallet fund moves money once per --id, through the API, and the data directory sees it', async () => {
    const first = await runCli(['wallet', 'fund', 'charger-7', '3.25', '--id', 'grant-7', ...url()]);
    expect(first.stderr).toBe('');
    expect(first.stdout).toBe('funded charger-7 with 3.25 EUR; balance 3.25 EUR\n');
    const retried = await runCli(['wallet', 'fund', 'charger-7', '3.25', '--id', 'grant-7', ...url()]);
    expect(retried.stdout).toBe('already funded (same id) charger-7 with 3.25 EUR; balance 3.25 EUR\n');
    const conflict = await runCli(['wallet', 'fund', 'car-7', '3.25', '--id', 'grant-7', ...url()]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain('IDEMPOTENCY_CONFLICT');
    const local = await runCli(['wallets', '--data', broker.dataDir]);
    expect(local.stdout).toMatch(/\ncharger-7\s+3\.25\s+EUR\n/);
  });

  it('settle settles now through the API, then finds nothing; ledger check holds from both sources', async () => {
    const settled = await runCli(['settle', ...url()]);
    expect(settled.stderr).toBe('');
    expect(settled.code).toBe(0);
    expect(settled.stdout).toMatch(/^settled: \S+ {2}manual-\d+ {2}manual {2}1 channel {2}1 EUR \(fee 0\) {2}-> wallet:charger-7 \+1\n$/);
    const nothing = await runCli(['settle', ...url()]);
    expect(nothing.stdout).toBe('nothing to settle: no channel has an unsettled voucher\n');
    const json = JSON.parse((await runCli(['settle', '--json', ...url()])).stdout);
    expect(json).toEqual({ settlement: null });
    const viaData = await runCli(['settle', '--data', broker.dataDir]);
    expect(viaData.code).toBe(2);
    expect(viaData.stderr).toContain("usage error: Unknown option '--data'");
    expect(viaData.stderr).toContain('(required: only the running broker can do this)');
    const bare = await runCli(['settle']);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('usage error: settling goes through the running broker, which holds accepted vouchers not yet written: give --url http://HOST:PORT (and --token)');

    const remote = await runCli(['ledger', 'check', '--verify-signatures', ...url()]);
    expect(remote.code, remote.stderr).toBe(0);
    expect(remote.stdout).toMatch(/ledger ok: \d+ checks hold\n$/);
    const local = await runCli(['ledger', 'check', '--verify-signatures', '--data', broker.dataDir]);
    expect(local.stdout).toBe(remote.stdout);
  });

  it('channel evidence prints the same JSON from the API as from the data directory', async () => {
    const remote = await runCli(['channel', 'evidence', channel.channelHex, ...url()]);
    expect(remote.code, remote.stderr).toBe(0);
    const local = await runCli(['channel', 'evidence', channel.channelHex, '--data', broker.dataDir]);
    expect(JSON.parse(remote.stdout)).toEqual(JSON.parse(local.stdout));
    expect(JSON.parse(remote.stdout)).toMatchObject({ channel: channel.channelHex, payer: 'car-7', payee: 'charger-7', latest: { seq: '2', total: '1000000' } });
    const unknown = await runCli(['channel', 'evidence', '00'.repeat(32), ...url()]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('error CHANNEL_UNKNOWN');
    // `channel list` is the `channels` view under the channel group, from either source.
    for (const source of [url(), ['--data', broker.dataDir]]) {
      const listed = await runCli(['channel', 'list', '--json', ...source]);
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout)).toMatchObject({ items: [expect.objectContaining({ id: channel.channelHex, payer: 'car-7', payee: 'charger-7' })] });
    }
  });

  it('a refused token, a broker that is not there and a bad URL each say so in one line', async () => {
    const refused = await runCli(['ledger', 'check', '--url', broker.base], { MQPAY_OPERATOR_TOKEN: 'not-the-operator-token' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`error NOT_AUTHORIZED: not allowed for this client: ${broker.base} refused the operator token (HTTP 401): check --token or $MQPAY_OPERATOR_TOKEN\n`);
    const fromEnv = await runCli(['ledger', 'check', '--url', broker.base], { MQPAY_OPERATOR_TOKEN: OPERATOR_TOKEN });
    expect(fromEnv.code).toBe(0);
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const down = await runCli(['wallet', 'fund', 'car-7', '1', '--url', nowhere, '--token', OPERATOR_TOKEN]);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`error SERVICE_UNAVAILABLE: service is unavailable: cannot reach ${nowhere}: connection refused (is the broker running with --http-port?)\n`);
    const mqttUrl = await runCli(['device', 'list', '--url', broker.url, '--token', OPERATOR_TOKEN]);
    expect(mqttUrl.code).toBe(2);
    expect(mqttUrl.stderr).toContain(`--url must be the broker's HTTP address`);
  });
});
