// GET /metrics: Prometheus text from the broker's own registry, with the voucher, ACL and auth
// counters, settlement count/size/duration/amount, connected devices, ledger totals in
// micro-units, and Node's event loop lag.
import { PROTOCOL_VERSION } from '../shared/schemas.js';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAmount, type Amount } from '../shared/amount.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import { OPERATOR_TOKEN, payVoucher, random, settledResult, signedVoucher } from './helpers/broker-fixture.js';
import { openPayingChannel, startOpsBroker, type OpsBroker, type PayingChannel } from './helpers/ops-fixture.js';
import { MQPAY_VERSION } from '../shared/version.js';

let broker: OpsBroker;
let channel: PayingChannel;

beforeAll(async () => {
  broker = await startOpsBroker();
  channel = await openPayingChannel(broker, { payer: 'car-1', payee: 'charger-1' }, { funds: '10', deposit: '2', step: '0.001' });
});
afterAll(async () => {
  await broker.stop();
});

async function scrape(): Promise<string> {
  const answer = await broker.api('GET', '/metrics');
  expect(answer.status).toBe(200);
  expect(answer.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return answer.text;
}

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A plain MQTT client with the given credentials; resolves when it is closed or refused. */
function operatorAttempt(options: mqtt.IClientOptions, act: (client: mqtt.MqttClient) => void): Promise<void> {
  return new Promise((resolve) => {
    const client = mqtt.connect(`mqtt://127.0.0.1:${broker.mqttPort}`, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 3_000, ...options });
    client.on('connect', () => act(client));
    client.on('error', () => undefined);
    client.on('close', () => {
      client.end(true);
      resolve();
    });
  });
}

describe('metrics', () => {
  it('exposes voucher, ACL and auth counters, settlements, connected devices, ledger totals and event loop lag', async () => {
    await channel.pay(25);
    const above = await payVoucher(channel.payer, signedVoucher(channel.payerKeys, { channelId: channel.channelId, seq: 26n, total: parseAmount('3') as Amount }));
    expect(above).toMatchObject({ type: 'voucher.rejected', error: { code: 'VOUCHER_ABOVE_DEPOSIT' } });
    // An operator may only read: a publish is an ACL violation (and closes the connection).
    await operatorAttempt({ clientId: 'ops:bad', username: 'operator', password: OPERATOR_TOKEN }, (client) => client.publish('mqpay/v1/ops/events', 'forged'));
    await operatorAttempt({ clientId: 'ops:wrong', username: 'operator', password: 'not-the-token-0000' }, () => undefined);
    const settled = await settledResult(broker.app.service.settleNow());
    expect(settled?.amount).toBe(25_000n);

    // The scrape that shows the settlement is the one the assertions below read.
    let text = '';
    await expect.poll(async () => value((text = await scrape()), 'mqpay_settlements_total{reason="manual"}'), { timeout: 5_000 }).toBe(1);
    expect(value(text, 'mqpay_vouchers_accepted_total')).toBe(25);
    expect(value(text, 'mqpay_vouchers_rejected_total{code="VOUCHER_ABOVE_DEPOSIT"}')).toBe(1);
    expect(value(text, 'mqpay_acl_violations_total')).toBe(1);
    expect(value(text, 'mqpay_auth_failures_total')).toBe(1);
    expect(value(text, 'mqpay_devices_connected')).toBe(2);
    expect(value(text, 'mqpay_settlement_channels_count')).toBe(1);
    expect(value(text, 'mqpay_settlement_channels_sum')).toBe(1);
    expect(value(text, 'mqpay_settled_micro_total')).toBe(25_000);
    expect(value(text, 'mqpay_settlement_duration_seconds_count{reason="manual"}')).toBe(1);
    expect(value(text, 'mqpay_settlement_duration_seconds_sum{reason="manual"}')).toBeGreaterThan(0);
    expect(value(text, 'mqpay_ledger_balance_micro{kind="wallet"}')).toBe(8_025_000);
    expect(value(text, 'mqpay_ledger_balance_micro{kind="escrow"}')).toBe(1_975_000);
    expect(value(text, 'mqpay_ledger_funded_micro')).toBe(10_000_000);
    expect(value(text, 'mqpay_channels_open')).toBe(1);
    expect(value(text, 'mqpay_devices_enrolled{status="active"}')).toBe(2);
    expect(value(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(text).toContain('# HELP mqpay_ledger_balance_micro Sum of account balances by kind, in micro-units');

    // The build, the voucher path's latencies, and the MQTT traffic.
    expect(value(text, `mqpay_build_info{version="${MQPAY_VERSION}",protocol="${PROTOCOL_VERSION}",node="${process.versions.node}"}`)).toBe(1);
    expect(value(text, 'mqpay_voucher_verdict_seconds_count{outcome="accepted"}')).toBe(25);
    expect(value(text, 'mqpay_voucher_verdict_seconds_count{outcome="rejected"}')).toBe(1);
    expect(value(text, 'mqpay_voucher_verdict_seconds_sum{outcome="accepted"}')).toBeGreaterThan(0);
    expect(value(text, 'mqpay_verify_seconds_count')).toBeGreaterThanOrEqual(25); // each new voucher (the above-deposit one is refused before)
    expect(value(text, 'mqpay_commit_seconds_count{what="batch"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'mqpay_commit_seconds_count{what="unit"}')).toBeGreaterThanOrEqual(2); // the open and the settlement at least
    const packetsIn = value(text, 'mqpay_mqtt_packets_total{direction="in"}') ?? 0;
    expect(packetsIn).toBeGreaterThanOrEqual(26 + 2 * 2); // the vouchers, and each device's CONNECT and SUBSCRIBE
    expect(value(text, 'mqpay_mqtt_packets_total{direction="out"}')).toBeGreaterThanOrEqual(26 + 25); // verdicts and forwards
    expect(value(text, 'mqpay_mqtt_bytes_total{direction="in"}')).toBeGreaterThan(26 * 146); // a voucher frame is 146 bytes (v3; the JSON form was about 320)
    expect(value(text, 'mqpay_mqtt_bytes_total{direction="out"}')).toBeGreaterThan(0);
    // A request is timed when its answer is done: the scrape above shows in the next one.
    expect(value(await scrape(), 'mqpay_http_request_duration_seconds_count{route="/metrics",method="GET"}')).toBeGreaterThanOrEqual(1);
  });

  it('times closes by an operator and counts closes by a device from the operator stream', async () => {
    await channel.pay(1);
    const close = await broker.api('POST', `/api/channels/${channel.channelHex}/close?immediate=true`);
    expect(close.status).toBe(200);
    let text = '';
    await expect.poll(async () => value((text = await scrape()), 'mqpay_settlements_total{reason="close"}'), { timeout: 5_000 }).toBe(1);
    expect(value(text, 'mqpay_settlement_duration_seconds_count{reason="close"}')).toBe(1);
    expect(value(text, 'mqpay_settled_micro_total')).toBe(26_000);
    expect(value(text, 'mqpay_channels_open')).toBe(0);

    // A close asked by the payee itself settles inside its RPC: counted, sized and summed.
    const second = newChannelId(random);
    await channel.payer.request('channel.open', { channel: toHex(second), payee: 'charger-1', deposit: '1', durationSeconds: 3600 });
    await payVoucher(channel.payer, signedVoucher(channel.payerKeys, { channelId: second, seq: 1n, total: parseAmount('0.5') }));
    await channel.payee.request('channel.close', { channel: toHex(second) });
    let after = '';
    await expect.poll(async () => value((after = await scrape()), 'mqpay_settlements_total{reason="close"}'), { timeout: 5_000 }).toBe(2);
    expect(value(after, 'mqpay_settled_micro_total')).toBe(526_000);
    expect(value(after, 'mqpay_settlement_channels_count')).toBe(3);
  });
});
