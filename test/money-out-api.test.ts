// Money out through a running broker's operator API [docs/DESIGN.md rule 13]: payouts from a
// wallet and from the fees account, an operator's move between wallets, the bookkeeping export,
// and the audit of funding in minus payouts out. A real broker (aedes on loopback, real MQTT
// clients paying real vouchers, SQLite in a temp dir) with a clock the test sets, so every
// transfer's time, and so the export, is known exactly.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { opsEventSchema, type OpsEventParsed } from '../shared/ops-events.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import { parseAmount } from '../shared/amount.js';
import { payVoucher, random, signedVoucher } from './helpers/broker-fixture.js';
import { startOpsBroker, type OpsBroker } from './helpers/ops-fixture.js';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

let now = T0;
let broker: OpsBroker;
let hex: string;
let events: OpsEventParsed[];

beforeEach(async () => {
  now = T0;
  broker = await startOpsBroker({ feePpm: 10_000 }, { clock: { nowMs: () => now } });
  events = [];
  broker.app.service.telemetry.on((event) => {
    if (event.kind === 'ops.event') events.push(opsEventSchema.parse(event.event));
  });
  // car: 20 funded (T0), 5 escrowed (T+1), pays 2 on the channel; the settlement (T+2) takes a 1% fee.
  const carKeys = broker.enrol('car');
  const chargerKeys = broker.enrol('charger');
  expect((await broker.api('POST', '/api/wallets/car/fund', { body: { amount: '20', idempotencyKey: 'f-car' } })).status).toBe(201);
  now = T0 + 1000;
  const car = await broker.link('car', carKeys);
  await broker.link('charger', chargerKeys);
  const channelId = newChannelId(random);
  hex = toHex(channelId);
  await car.request('channel.open', { channel: hex, payee: 'charger', deposit: '5', durationSeconds: 3600 });
  for (const seq of [1n, 2n]) {
    const verdict = await payVoucher(car, signedVoucher(carKeys, { channelId, seq, total: parseAmount(String(seq)), expiresAtSeconds: BigInt(Math.floor(T0 / 1000) + 3600) }));
    expect(verdict.type).toBe('voucher.accepted');
  }
  now = T0 + 2000;
  expect((await broker.api('POST', '/api/settlements')).status).toBe(201);
});
afterEach(() => broker.stop());

const balances = async (): Promise<Record<string, string>> => {
  const page = (await broker.api('GET', '/api/wallets')).json as { items: { device: string; balance: string; currency: string }[] };
  for (const item of page.items) expect(item.currency).toBe('EUR');
  return Object.fromEntries(page.items.map((item) => [item.device, item.balance]));
};

describe('payouts, moves and the export over the operator API', () => {
  it('a payout moves exactly its amount out, once per key; another amount with the key is IDEMPOTENCY_CONFLICT; escrow is not available', async () => {
    expect(await balances()).toEqual({ car: '15', charger: '1.98' });
    // car holds 15 in its wallet and 3 in escrow: 15.000001 is more than is available.
    const above = await broker.api('POST', '/api/wallets/car/payouts', { body: { amount: '15.000001', idempotencyKey: 'p0' } });
    expect(above.status).toBe(409);
    expect(above.json.code).toBe('INSUFFICIENT_FUNDS');

    now = T0 + 3000;
    const paid = await broker.api('POST', '/api/wallets/car/payouts', { body: { amount: '10', idempotencyKey: 'p1' } });
    expect(paid.status).toBe(201);
    expect(paid.json).toEqual({ account: 'wallet:car', amount: '10', balance: '5', currency: 'EUR', moved: true, idempotencyKey: 'p1', transfer: 'payout:p1' });
    const again = await broker.api('POST', '/api/wallets/car/payouts', { body: { amount: '10' }, headers: { 'idempotency-key': 'p1' } });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ moved: false, balance: '5' });
    const otherAmount = await broker.api('POST', '/api/wallets/car/payouts', { body: { amount: '11', idempotencyKey: 'p1' } });
    expect(otherAmount.status).toBe(409);
    expect(otherAmount.json.code).toBe('IDEMPOTENCY_CONFLICT');
    const otherWallet = await broker.api('POST', '/api/wallets/charger/payouts', { body: { amount: '10', idempotencyKey: 'p1' } });
    expect(otherWallet.json.code).toBe('IDEMPOTENCY_CONFLICT');
    const unknown = await broker.api('POST', '/api/wallets/nobody/payouts', { body: { amount: '1', idempotencyKey: 'p9' } });
    expect(unknown.json.code).toBe('DEVICE_UNKNOWN');

    expect(await balances()).toEqual({ car: '5', charger: '1.98' });
    const ledger = (await broker.api('GET', '/api/ledger')).json;
    expect(ledger).toMatchObject({ currency: 'EUR', funded: '20', paidOut: '10', fees: '0.02', balanced: true });
    const audit = (await broker.api('GET', '/api/ledger/audit')).json as { ok: boolean; checks: { name: string; ok: boolean; detail: string }[] };
    expect(audit.ok).toBe(true);
    expect(audit.checks.find((check) => check.name === 'funding in minus payouts out equals wallets plus escrow plus fees')).toMatchObject({ ok: true });
    expect(events.filter((event) => event.type === 'wallet.payout')).toEqual([{ v: expect.any(Number), type: 'wallet.payout', device: 'car', amount: 10_000_000n, by: 'operator', atMs: T0 + 3000 }]);
  });

  it('fees withdraw pays the fees account out; a move goes wallet to wallet; both once per key and audited', async () => {
    const fees = await broker.api('POST', '/api/fees/payouts', { body: { amount: '0.02', idempotencyKey: 'fee-out' } });
    expect(fees.status).toBe(201);
    expect(fees.json).toMatchObject({ account: 'fees', balance: '0', moved: true, transfer: 'payout:fee-out' });
    const empty = await broker.api('POST', '/api/fees/payouts', { body: { amount: '0.000001', idempotencyKey: 'fee-2' } });
    expect(empty.json.code).toBe('INSUFFICIENT_FUNDS');
    // The fees key is a payout key: reused on a wallet it is a conflict, not a second payout.
    expect((await broker.api('POST', '/api/wallets/car/payouts', { body: { amount: '0.02', idempotencyKey: 'fee-out' } })).json.code).toBe('IDEMPOTENCY_CONFLICT');

    const moved = await broker.api('POST', '/api/wallets/car/moves', { body: { to: 'charger', amount: '15', idempotencyKey: 'm1' } });
    expect(moved.status).toBe(201);
    expect(moved.json).toEqual({ from: 'car', to: 'charger', amount: '15', balance: '0', currency: 'EUR', moved: true, idempotencyKey: 'm1', transfer: 'move:m1' });
    expect((await broker.api('POST', '/api/wallets/car/moves', { body: { to: 'charger', amount: '15', idempotencyKey: 'm1' } })).json).toMatchObject({ moved: false });
    expect((await broker.api('POST', '/api/wallets/car/moves', { body: { to: 'charger', amount: '14', idempotencyKey: 'm1' } })).json.code).toBe('IDEMPOTENCY_CONFLICT');
    expect((await broker.api('POST', '/api/wallets/car/moves', { body: { to: 'charger', amount: '1', idempotencyKey: 'm2' } })).json.code).toBe('INSUFFICIENT_FUNDS');
    expect((await broker.api('POST', '/api/wallets/car/moves', { body: { to: 'nobody', amount: '1', idempotencyKey: 'm3' } })).json.code).toBe('DEVICE_UNKNOWN');

    expect(await balances()).toEqual({ car: '0', charger: '16.98' });
    expect((await broker.api('GET', '/api/ledger')).json).toMatchObject({ funded: '20', paidOut: '0.02', fees: '0', balanced: true });
    expect((await broker.api('GET', '/api/ledger/audit')).json.ok).toBe(true);
    expect(events.filter((event) => 'by' in event && event.type !== 'wallet.funded').map((event) => event.type)).toEqual(['fees.payout', 'wallet.moved']);
  });

  it('the export lists transfers and settlements of the range exactly, as CSV and JSON, for all or one device', async () => {
    now = T0 + 3000;
    await broker.api('POST', '/api/wallets/car/payouts', { body: { amount: '10', idempotencyKey: 'p1' } });
    now = T0 + 4000;
    await broker.api('POST', '/api/fees/payouts', { body: { amount: '0.02', idempotencyKey: 'fee-out' } });
    now = T0 + 5000;
    await broker.api('POST', '/api/wallets/car/moves', { body: { to: 'charger', amount: '5', idempotencyKey: 'm1' } });
    const csv = await broker.api('GET', '/api/export?from=2026-12-01&to=2026-12-02&format=csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.text).toBe([
      'time,record,kind,id,from,to,amount,fee,currency,channel,settlement,key',
      `${at(0)},transfer,fund,fund:f-car,external,wallet:car,20,,EUR,,,f-car`,
      `${at(1)},transfer,deposit,deposit:${hex},wallet:car,escrow:${hex},5,,EUR,${hex},,`,
      `${at(2)},transfer,fee,fee:manual-1:1,escrow:${hex},fees,0.02,,EUR,${hex},manual-1,`,
      `${at(2)},transfer,settle,settle:manual-1:1,escrow:${hex},wallet:charger,1.98,,EUR,${hex},manual-1,`,
      `${at(2)},settlement,manual,manual-1,,,2,0.02,EUR,,manual-1,`,
      `${at(3)},transfer,payout,payout:p1,wallet:car,external,10,,EUR,,,p1`,
      `${at(4)},transfer,payout,payout:fee-out,fees,external,0.02,,EUR,,,fee-out`,
      `${at(5)},transfer,move,move:m1,wallet:car,wallet:charger,5,,EUR,,,m1`,
      '',
    ].join('\r\n'));

    // [from, to): the move at T+5 is outside; the charger's view has what touched its wallet or channels.
    const json = await broker.api('GET', `/api/export?from=${encodeURIComponent(at(3))}&to=${encodeURIComponent(at(5))}&format=json`);
    expect(json.json).toEqual({
      currency: 'EUR', from: at(3), to: at(5), device: null,
      rows: [
        { time: at(3), record: 'transfer', kind: 'payout', id: 'payout:p1', from: 'wallet:car', to: 'external', amount: '10', fee: null, currency: 'EUR', channel: null, settlement: null, key: 'p1' },
        { time: at(4), record: 'transfer', kind: 'payout', id: 'payout:fee-out', from: 'fees', to: 'external', amount: '0.02', fee: null, currency: 'EUR', channel: null, settlement: null, key: 'fee-out' },
      ],
    });
    const charger = await broker.api('GET', '/api/export?from=2026-12-01&to=2026-12-02&device=charger');
    expect((charger.json.rows as { id: string }[]).map((row) => row.id)).toEqual([`deposit:${hex}`, 'fee:manual-1:1', 'settle:manual-1:1', 'manual-1', 'move:m1']);

    for (const [query, detail] of [
      ['from=2026-12-02&to=2026-12-01', 'is after to'],
      ['from=2026-02-30&to=2026-12-01', 'must be an ISO 8601 date'],
      ['from=yesterday&to=2026-12-01', 'must be an ISO 8601 date'],
      ['from=2026-12-01T10:00&to=2026-12-02', 'must be an ISO 8601 date'],
    ] as const) {
      const refused = await broker.api('GET', `/api/export?${query}`);
      expect(refused.status).toBe(400);
      expect(refused.json).toMatchObject({ code: 'MESSAGE_INVALID' });
      expect(refused.json.detail).toContain(detail);
    }
  });
});
