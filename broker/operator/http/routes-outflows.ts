// Money out of a wallet other than into a channel [docs/DESIGN.md rule 13]: payouts (a wallet or
// the fees account to external) and an operator's move between two wallets (a lost device's
// balance to its replacement; it does not require the device to be disabled). Each is one
// immutable transfer, idempotent by key like funding: a retry answers 200 with moved: false,
// the same key for another transfer is IDEMPOTENCY_CONFLICT, above the balance (escrow is not
// available) is INSUFFICIENT_FUNDS. The write is the service's, in one unit of work.
import * as z from 'zod';
import { formatAmount, type Amount } from '../../../shared/amount.js';
import { FEES_ACCOUNT, walletAccount } from '../../store/accounts.js';
import type { OutflowOutcome } from '../../store/port.js';
import type { OperatorContext } from './operator-context.js';
import { appendJournal, type JournalEntry } from '../../backup/operator-journal.js';
import { defineRoute, json, type Route, NONE } from './route.js';
import { deviceIdText } from './routes-devices.js';
import { idempotencyKeyOf, keyedAmountBody } from './routes-wallets.js';
import { moveResultView, payoutResultView } from './view-schemas.js';

const moveBody = keyedAmountBody.extend({ to: deviceIdText.describe('the device whose wallet receives the amount') });

const keyHeader = [{ name: 'Idempotency-Key', description: 'the idempotency key, if not in the body' }];

/** Committed: journaled beside the backups, so a restore lists it for replay (a payout restored away would be paid twice). */
function journal(ops: OperatorContext, entry: JournalEntry): void {
  if (ops.app.journalDir === null) return;
  try {
    appendJournal(ops.app.journalDir, entry);
  } catch (error) {
    ops.logger.error({ err: error, key: entry.key }, `${entry.action} committed but not journaled: note its key for a restore`);
  }
}

function payoutView(ops: OperatorContext, account: string, amount: Amount, key: string, outcome: OutflowOutcome) {
  return { account, amount: formatAmount(amount), balance: formatAmount(outcome.balance), currency: ops.app.currency, moved: outcome.kind === 'moved', idempotencyKey: key, transfer: outcome.transferId };
}

function payoutResponses(what: string) {
  return [
    { status: 201, description: `paid out of ${what}`, schema: payoutResultView },
    { status: 200, description: 'already paid out with this key (nothing moved)', schema: payoutResultView },
  ];
}

export const outflowRoutes: readonly Route[] = [
  defineRoute({
    method: 'POST', path: '/api/wallets/{device}/payouts', operationId: 'payoutWallet', tag: 'wallets', access: 'operator',
    summary: 'Pay money out of a device wallet to outside, once per idempotency key (escrow is not available)',
    params: z.strictObject({ device: deviceIdText }), query: NONE, body: keyedAmountBody, errors: [404, 409], headers: keyHeader,
    responses: payoutResponses('the wallet'),
    async handle({ ops, params, body, request }) {
      const key = idempotencyKeyOf(request, body.idempotencyKey);
      const account = walletAccount(params.device);
      const outcome = await ops.app.service.payout(account, body.amount, key);
      if (outcome.kind === 'moved') {
        ops.logger.info({ device: params.device, amount: formatAmount(body.amount), key }, 'wallet paid out by operator');
        ops.publishEvent({ type: 'wallet.payout', device: params.device, amount: formatAmount(body.amount) });
        journal(ops, { action: 'wallet.payout', device: params.device, amount: body.amount, key, by: 'api', atMs: ops.app.clock.nowMs() });
      }
      return json(outcome.kind === 'moved' ? 201 : 200, payoutView(ops, account, body.amount, key, outcome));
    },
  }),
  defineRoute({
    method: 'POST', path: '/api/fees/payouts', operationId: 'payoutFees', tag: 'ledger', access: 'operator',
    summary: 'Pay collected fees out to outside, once per idempotency key',
    params: NONE, query: NONE, body: keyedAmountBody, errors: [409], headers: keyHeader,
    responses: payoutResponses('the fees account'),
    async handle({ ops, body, request }) {
      const key = idempotencyKeyOf(request, body.idempotencyKey);
      const outcome = await ops.app.service.payout(FEES_ACCOUNT, body.amount, key);
      if (outcome.kind === 'moved') {
        ops.logger.info({ amount: formatAmount(body.amount), key }, 'fees paid out by operator');
        ops.publishEvent({ type: 'fees.payout', amount: formatAmount(body.amount) });
        journal(ops, { action: 'fees.payout', amount: body.amount, key, by: 'api', atMs: ops.app.clock.nowMs() });
      }
      return json(outcome.kind === 'moved' ? 201 : 200, payoutView(ops, FEES_ACCOUNT, body.amount, key, outcome));
    },
  }),
  defineRoute({
    method: 'POST', path: '/api/wallets/{device}/moves', operationId: 'moveWallet', tag: 'wallets', access: 'operator',
    summary: "Move money from a device's wallet to another device's wallet (e.g. a lost device's balance to its replacement), once per idempotency key",
    params: z.strictObject({ device: deviceIdText }), query: NONE, body: moveBody, errors: [404, 409], headers: keyHeader,
    responses: [
      { status: 201, description: 'moved', schema: moveResultView },
      { status: 200, description: 'already moved with this key (nothing moved again)', schema: moveResultView },
    ],
    async handle({ ops, params, body, request }) {
      const key = idempotencyKeyOf(request, body.idempotencyKey);
      const outcome = await ops.app.service.move(params.device, body.to, body.amount, key);
      const moved = outcome.kind === 'moved';
      if (moved) {
        ops.logger.info({ from: params.device, to: body.to, amount: formatAmount(body.amount), key }, 'wallet balance moved by operator');
        ops.publishEvent({ type: 'wallet.moved', from: params.device, to: body.to, amount: formatAmount(body.amount) });
        journal(ops, { action: 'wallet.move', from: params.device, to: body.to, amount: body.amount, key, by: 'api', atMs: ops.app.clock.nowMs() });
      }
      const view = { from: params.device, to: body.to, amount: formatAmount(body.amount), balance: formatAmount(outcome.balance), currency: ops.app.currency, moved, idempotencyKey: key, transfer: outcome.transferId };
      return json(moved ? 201 : 200, view);
    },
  }),
];
