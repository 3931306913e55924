// The dashboard's totals are SQL aggregates over the whole ledger, not a count of one page: with
// 10,000 channels written through the real SQLite store (in one transaction, for speed) in three
// states, GET /api/summary counts each state exactly, while the channel list serves one page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escrowAccount, walletAccount } from '../broker/store/accounts.js';
import { sqliteStore } from '../broker/store/sqlite/store.js';
import { summaryView } from '../broker/operator/http/dashboard-views.js';
import { formatAmount, parseAmount, type Amount } from '../shared/amount.js';
import { newChannelId } from '../shared/ids.js';
import { random } from './helpers/broker-fixture.js';
import { startOpsBroker, type OpsBroker } from './helpers/ops-fixture.js';

const CHANNELS = 10_000;
const CLOSED = 1_000;
const CLOSING = 500;
const DEPOSIT = parseAmount('0.01');

let broker: OpsBroker;

beforeAll(async () => {
  broker = await startOpsBroker();
  broker.enrol('payer-1', '1000');
  broker.enrol('payee-1');
  const store = sqliteStore(broker.app.db);
  const nowMs = Date.now();
  await store.transaction(async (tx) => {
    const payerWallet = await tx.accountKey(walletAccount('payer-1'));
    const payeeWallet = await tx.accountKey(walletAccount('payee-1'));
    for (let i = 0; i < CHANNELS; i++) {
      const id = newChannelId(random);
      const escrow = escrowAccount(id);
      const escrowKey = await tx.ensureAccount(escrow, 'escrow');
      const num = await tx.insertChannel({
        id, payer: 'payer-1', payee: 'payee-1', payerWallet, payeeWallet, escrowAccount: escrowKey, deposit: DEPOSIT as Amount,
        expiresAtSeconds: BigInt(Math.floor(nowMs / 1000) + 3600), certificate: random(120), certificateSignature: random(64), nowMs,
      });
      await tx.insertTransfer({ id: `deposit:${i}`, from: walletAccount('payer-1'), to: escrow, amount: DEPOSIT as Amount, kind: 'deposit', channel: num, nowMs });
      if (i < CLOSED) await tx.markChannelClosed(num, 'operator-immediate', nowMs);
      else if (i < CLOSED + CLOSING) await tx.markChannelClosing(num, 'operator', nowMs, nowMs + 600_000);
    }
  });
}, 60_000);

afterAll(async () => {
  await broker.stop();
});

describe('GET /api/summary over 10,000 channels', () => {
  it('counts every channel by state and sums every escrow, while a list page holds 100', async () => {
    const answer = await broker.api('GET', '/api/summary');
    expect(answer.status, answer.text).toBe(200);
    const summary = summaryView.parse(answer.json);
    expect(summary.channels).toEqual({ open: CHANNELS - CLOSED - CLOSING, closing: CLOSING, closed: CLOSED, total: CHANNELS });
    expect(summary.ledger.escrow).toEqual({ accounts: CHANNELS, balance: formatAmount((DEPOSIT * BigInt(CHANNELS)) as Amount) });
    expect(summary.ledger.wallets.balance).toBe('900');
    expect(summary.ledger.balanced).toBe(true);
    expect(summary.devices).toEqual({ enrolled: 2, active: 2, disabled: 0, online: 0 });
    expect(summary.settled).toEqual({ settlements: 0, amount: '0', fee: '0' });
    // What the dashboard used to count: one page of the list.
    const page = await broker.api('GET', '/api/channels?limit=100');
    expect(page.json.items).toHaveLength(100);
    expect(page.json.nextOffset).toBe(100);
  });
});
