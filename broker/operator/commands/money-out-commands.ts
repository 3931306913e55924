// Money out of a wallet other than into a channel [docs/DESIGN.md rule 13]:
//   mqpay wallet withdraw NAME AMOUNT --id KEY   a wallet's payout to outside
//   mqpay fees withdraw AMOUNT --id KEY          the collected fees' payout to outside
//   mqpay wallet move FROM TO AMOUNT --id KEY    an operator's move between two wallets
// Over a running broker (--url: the service writes, in one unit of work, and publishes the ops
// event) or straight on the data directory (--data: one BEGIN IMMEDIATE transaction, ordered
// against the broker's by SQLite's write lock, like `wallet fund`). Both apply the same rule
// (broker/store/sqlite/outflows.ts): once per key, IDEMPOTENCY_CONFLICT on reuse for another
// transfer, INSUFFICIENT_FUNDS above the balance. The key is required: a payout must be safe to retry.
import { formatAmount, parseAmount, type Amount } from '../../../shared/amount.js';
import { MqpayError } from '../../../shared/errors.js';
import { isRequestId } from '../../../shared/ids.js';
import { requireString, UsageError, type Command, type CommandInput } from '../../../cli/command.js';
import { FEES_ACCOUNT, walletAccount } from '../../store/accounts.js';
import { appendJournal, type JournalEntry } from '../../backup/operator-journal.js';
import { journalDirOf } from '../../store/sqlite/restore-record.js';
import type { Db } from '../../store/sqlite/open-database.js';
import { ledgerCurrency } from '../../store/sqlite/ledger-currency.js';
import { moveNow, payoutNow } from '../../store/sqlite/outflows.js';
import { adminSourceOptions, onSource } from './view-source.js';

const outflowOptions = {
  ...adminSourceOptions,
  id: { type: 'string', description: 'idempotency key (1-64 of [A-Za-z0-9_.:-]): retrying with the same id moves once; another transfer with it is IDEMPOTENCY_CONFLICT' },
  json: { type: 'boolean', description: 'print the result as JSON (the API\'s answer)' },
} as const;

/** What every outflow prints, whichever source did the write. */
interface OutflowResult {
  readonly amount: string;
  readonly balance: string;
  readonly currency: string;
  readonly moved: boolean;
  readonly idempotencyKey: string;
  readonly transfer: string;
}

/** Committed: journaled beside the broker's backups (its --backup-dir, named in the ledger), for a restore to list. */
function journalCli(db: Db, entry: JournalEntry): void {
  const journalDir = journalDirOf(db);
  if (journalDir !== null) appendJournal(journalDir, entry);
}

function keyOf(input: CommandInput): string {
  const key = requireString(input, 'id');
  if (!isRequestId(key)) throw new UsageError('--id must be 1-64 of [A-Za-z0-9_.:-]');
  return key;
}

function amountOf(text: string): Amount {
  const amount = parseAmount(text);
  if (amount === 0n) throw new MqpayError('AMOUNT_ZERO');
  return amount;
}

/** A payout of `account` through --url (`apiPath`) or --data. */
/** A payout of a device's wallet, or of the fees account when `device` is null. */
async function payout(input: CommandInput, device: string | null, amount: Amount): Promise<OutflowResult & { account: string }> {
  const key = keyOf(input);
  const account = device === null ? FEES_ACCOUNT : walletAccount(device);
  const apiPath = device === null ? '/api/fees/payouts' : `/api/wallets/${encodeURIComponent(device)}/payouts`;
  return onSource(input, {
    url: (api) => api.post(apiPath, { amount: formatAmount(amount), idempotencyKey: key }),
    data: (db) => {
      const nowMs = Date.now();
      const outcome = payoutNow(db, { from: account, amount, key, nowMs });
      if (outcome.kind === 'moved') journalCli(db, device === null ? { action: 'fees.payout', amount, key, by: 'cli', atMs: nowMs } : { action: 'wallet.payout', device, amount, key, by: 'cli', atMs: nowMs });
      return { account, amount: formatAmount(amount), balance: formatAmount(outcome.balance), currency: ledgerCurrency(db), moved: outcome.kind === 'moved', idempotencyKey: key, transfer: outcome.transferId };
    },
  });
}

function printPayout(input: CommandInput, result: OutflowResult & { account: string }): number {
  if (input.values.json === true) input.stdout(JSON.stringify(result));
  else input.stdout(`${result.moved ? 'paid out' : 'already paid out (same id)'} ${result.amount} ${result.currency} from ${result.account}; balance ${result.balance} ${result.currency} (transfer ${result.transfer})`);
  return 0;
}

export const walletWithdrawCommand: Command = {
  name: ['wallet', 'withdraw'],
  summary: 'pay money out of a device wallet to outside (AMOUNT like 12.5; escrow is not available), once per --id',
  positionals: ['NAME', 'AMOUNT'],
  options: outflowOptions,
  async run(input) {
    const [name = '', text = ''] = input.positionals;
    return printPayout(input, await payout(input, name, amountOf(text)));
  },
};

export const feesWithdrawCommand: Command = {
  name: ['fees', 'withdraw'],
  summary: 'pay collected fees out to outside (AMOUNT like 2), once per --id',
  positionals: ['AMOUNT'],
  options: outflowOptions,
  async run(input) {
    const [text = ''] = input.positionals;
    return printPayout(input, await payout(input, null, amountOf(text)));
  },
};

export const walletMoveCommand: Command = {
  name: ['wallet', 'move'],
  summary: "move money from one device's wallet to another's (e.g. a lost device's balance to its replacement), once per --id",
  positionals: ['FROM', 'TO', 'AMOUNT'],
  options: outflowOptions,
  async run(input) {
    const [from = '', to = '', text = ''] = input.positionals;
    const amount = amountOf(text);
    const key = keyOf(input);
    const result = await onSource<OutflowResult & { from: string; to: string }>(input, {
      url: (api) => api.post(`/api/wallets/${encodeURIComponent(from)}/moves`, { to, amount: formatAmount(amount), idempotencyKey: key }),
      data: (db) => {
        const nowMs = Date.now();
        const outcome = moveNow(db, { fromDevice: from, toDevice: to, amount, key, nowMs });
        if (outcome.kind === 'moved') journalCli(db, { action: 'wallet.move', from, to, amount, key, by: 'cli', atMs: nowMs });
        return { from, to, amount: formatAmount(amount), balance: formatAmount(outcome.balance), currency: ledgerCurrency(db), moved: outcome.kind === 'moved', idempotencyKey: key, transfer: outcome.transferId };
      },
    });
    if (input.values.json === true) input.stdout(JSON.stringify(result));
    else input.stdout(`${result.moved ? 'moved' : 'already moved (same id)'} ${result.amount} ${result.currency} from ${result.from} to ${result.to}; ${result.from} balance ${result.balance} ${result.currency} (transfer ${result.transfer})`);
    return 0;
  },
};

export const moneyOutCommands: Command[] = [walletWithdrawCommand, feesWithdrawCommand, walletMoveCommand];
