// The spending policy refuses payments before anything is signed or stored: no voucher row,
// no channel opened, no money escrowed, nothing published. Each limit kind is exercised,
// budgets slide with the (injected) clock, and racing payments cannot overrun a budget.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Agent } from '../agent/agent-api.js';
import { openState } from '../agent/store/open-state.js';
import { statePathOf } from '../agent/home/home.js';
import { balanceOf } from '../broker/store/sqlite/ledger.js';
import { walletAccount } from '../broker/store/accounts.js';
import { listChannelsOf } from '../broker/store/sqlite/channels.js';
import { parseAmount } from '../shared/amount.js';
import { MqpayError } from '../shared/errors.js';
import { startBroker, type RunningBroker } from './helpers/broker-fixture.js';
import { AgentBed } from './helpers/agent-fixture.js';

const HOUR_MS = 3_600_000;

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => null, (failure: unknown) => failure);
  expect(error).toBeInstanceOf(MqpayError);
  return (error as MqpayError).code;
}

function signedRows(home: string): number {
  const db = openState(statePathOf(home), { readonly: true });
  try {
    return Number((db.prepare('SELECT count(*) AS n FROM signed_vouchers').get() as { n: bigint }).n);
  } finally {
    db.close();
  }
}

describe('agent: spending policy', () => {
  let broker: RunningBroker;
  let bed: AgentBed;
  beforeEach(async () => {
    broker = await startBroker();
    bed = new AgentBed(broker);
    bed.home('shop-1');
    bed.home('shop-2');
    bed.home('shop-3');
  });
  afterEach(async () => {
    await bed.cleanup();
    await broker.stop();
  });

  it('refuses above the per-payment maximum and outside the allow-list, before opening or signing anything', async () => {
    const home = bed.home('fridge-1', { funds: '10', config: { policy: { maxPerPayment: '0.5', allow: ['shop-1', 'shop-2'] } } });
    const fridge = await bed.start(home);
    expect(await refusal(fridge.pay('shop-1', '0.500001'))).toBe('POLICY_MAX_PER_PAYMENT');
    expect(await refusal(fridge.pay('shop-3', '0.1'))).toBe('POLICY_PAYEE_NOT_ALLOWED');
    expect(await refusal(fridge.sign('shop-3', '0.1'))).toBe('POLICY_PAYEE_NOT_ALLOWED');
    // Nothing happened anywhere: no local voucher or channel, no channel or escrow at the service.
    expect(signedRows(home)).toBe(0);
    expect(fridge.channels().paying).toEqual([]);
    expect(listChannelsOf(broker.app.db, 'fridge-1', 10)).toEqual([]);
    expect(balanceOf(broker.app.db, walletAccount('fridge-1'))).toBe(10_000_000n);

    await fridge.pay('shop-1', '0.5');
    expect(signedRows(home)).toBe(1);
    expect(await refusal(fridge.pay('shop-2', '0.75'))).toBe('POLICY_MAX_PER_PAYMENT');
    expect(signedRows(home)).toBe(1);
  });

  it('enforces per-payee and overall budgets over sliding hours and days', async () => {
    let offsetMs = 0;
    const clock = { nowMs: () => Date.now() + offsetMs };
    const home = bed.home('car-7', { funds: '20', config: { policy: { perPayee: { hour: '1', day: '1.5' }, overall: { hour: '1.6', day: '3' } } } });
    const car = await bed.start(home, { clock });

    await car.pay('shop-1', '0.6');
    expect(await refusal(car.pay('shop-1', '0.5'))).toBe('POLICY_BUDGET_EXCEEDED'); // shop-1 hourly: 0.6 + 0.5 > 1
    await car.pay('shop-1', '0.4'); // exactly the hourly budget
    await car.pay('shop-2', '0.6'); // another payee has its own budget
    expect(await refusal(car.pay('shop-2', '0.1'))).toBe('POLICY_BUDGET_EXCEEDED'); // overall hourly: 1.6 spent
    expect(signedRows(home)).toBe(3);

    offsetMs = HOUR_MS + 60_000; // the hour has slid by; the day has not
    expect(await refusal(car.pay('shop-1', '0.6'))).toBe('POLICY_BUDGET_EXCEEDED'); // shop-1 daily: 1 + 0.6 > 1.5
    await car.pay('shop-1', '0.5');
    await car.pay('shop-3', '0.9'); // overall daily: 2.1 + 0.9 = 3
    expect(await refusal(car.pay('shop-2', '0.000001'))).toBe('POLICY_BUDGET_EXCEEDED');
    expect(signedRows(home)).toBe(5);
  });

  it('lets racing payments use a budget once: exactly as many as fit are signed', async () => {
    const home = bed.home('drone-1', { funds: '20', config: { policy: { overall: { hour: '1' } } } });
    const drone: Agent = await bed.start(home);
    const outcomes = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => drone.pay(i % 2 === 0 ? 'shop-1' : 'shop-2', '0.2')));
    const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => ((o as PromiseRejectedResult).reason as MqpayError).code);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(5);
    expect(refused).toEqual(Array(7).fill('POLICY_BUDGET_EXCEEDED'));
    expect(signedRows(home)).toBe(5);
    const paid = drone.channels().paying.reduce((sum, channel) => sum + parseAmount(channel.signedTotal), 0n);
    expect(paid).toBe(1_000_000n);
  });
});
