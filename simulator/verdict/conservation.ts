// Conservation: no money appears or vanishes. Globally, what the simulator funded from outside
// equals the external account's debt and equals everything held in wallets, escrows and fees.
// Per device, its wallet equals what it was funded, minus what it escrowed in channels it pays
// (for closed ones, only what was settled: the rest came back), plus what it was settled as
// payee (less fees). Every figure is recomputed here from channels, not taken from transfers.
import type { Db } from '../../broker/store/sqlite/open-database.js';
import { statement } from '../../sqlite/statement.js';
import { formatAmount, type Amount } from '../../shared/amount.js';

export interface CheckResult {
  readonly ok: boolean;
  readonly detail: string;
}

const MISMATCHES_SHOWN = 5;

interface ChannelMoney {
  payer: string;
  payee: string;
  state: string;
  deposit: bigint;
  settled_total: bigint;
  fees: bigint;
}

function expectedWallets(db: Db, funded: ReadonlyMap<string, Amount>): Map<string, bigint> {
  const expected = new Map<string, bigint>(funded);
  const rows = statement(db, `SELECT c.payer, c.payee, c.state, c.deposit, c.settled_total,
      COALESCE((SELECT SUM(amount) FROM transfers t WHERE t.channel = c.num AND t.kind = 'fee'), 0) AS fees FROM channels c`).all() as ChannelMoney[];
  for (const row of rows) {
    const out = row.state === 'open' ? row.deposit : row.settled_total;
    expected.set(row.payer, (expected.get(row.payer) ?? 0n) - out);
    expected.set(row.payee, (expected.get(row.payee) ?? 0n) + row.settled_total - row.fees);
  }
  return expected;
}

export function checkConservation(db: Db, funded: ReadonlyMap<string, Amount>): CheckResult {
  let fundedTotal = 0n;
  for (const amount of funded.values()) fundedTotal += amount;
  const accounts = statement(db, 'SELECT name, kind, balance FROM accounts').all() as { name: string; kind: string; balance: bigint }[];
  const external = accounts.find((account) => account.kind === 'external')?.balance ?? 0n;
  const held = accounts.filter((account) => account.kind !== 'external').reduce((sum, account) => sum + account.balance, 0n);
  const problems: string[] = [];
  if (-external !== fundedTotal) problems.push(`external account owes ${-external}, simulator funded ${fundedTotal}`);
  if (held !== fundedTotal) problems.push(`wallets + escrow + fees hold ${held}, simulator funded ${fundedTotal}`);
  const wallets = new Map(accounts.filter((account) => account.kind === 'wallet').map((account) => [account.name.slice('wallet:'.length), account.balance]));
  for (const [device, expected] of expectedWallets(db, funded)) {
    const found = wallets.get(device) ?? 0n;
    if (found !== expected && problems.length < MISMATCHES_SHOWN) problems.push(`wallet of ${device} holds ${found}, expected ${expected}`);
  }
  if (problems.length > 0) return { ok: false, detail: problems.join('; ') };
  return { ok: true, detail: `funded ${formatAmount(fundedTotal as Amount)} = wallets + escrow + fees; ${wallets.size} wallets match their channels` };
}
