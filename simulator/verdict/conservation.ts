// Conservation: no money appears or vanishes. Globally, what the simulator funded from outside
// equals the external account's debt and equals everything held in wallets, escrows and fees.
// Per device, its wallet equals what it was funded, minus what it escrowed in channels it pays
// (for closed ones, only what was settled: the rest came back), plus what it was settled as
// payee (less fees). Every figure is recomputed here from channels, not taken from transfers.
import { formatAmount, type Amount } from '../../shared/amount.js';
import { bigintOf, type LedgerQuery } from '../world/ledger-query.js';

export interface CheckResult {
  readonly ok: boolean;
  readonly detail: string;
}

const MISMATCHES_SHOWN = 5;

async function expectedWallets(query: LedgerQuery, funded: ReadonlyMap<string, Amount>): Promise<Map<string, bigint>> {
  const expected = new Map<string, bigint>(funded);
  const rows = await query(`SELECT c.payer, c.payee, c.state, c.deposit, c.settled_total,
      COALESCE((SELECT SUM(amount) FROM transfers t WHERE t.channel = c.num AND t.kind = 'fee'), 0) AS fees FROM channels c`);
  for (const row of rows) {
    const [payer, payee, settled] = [String(row.payer), String(row.payee), bigintOf(row.settled_total)];
    const out = row.state === 'open' ? bigintOf(row.deposit) : settled;
    expected.set(payer, (expected.get(payer) ?? 0n) - out);
    expected.set(payee, (expected.get(payee) ?? 0n) + settled - bigintOf(row.fees));
  }
  return expected;
}

export async function checkConservation(query: LedgerQuery, funded: ReadonlyMap<string, Amount>): Promise<CheckResult> {
  let fundedTotal = 0n;
  for (const amount of funded.values()) fundedTotal += amount;
  const accounts = (await query('SELECT name, kind, balance FROM accounts')).map((row) => ({ name: String(row.name), kind: String(row.kind), balance: bigintOf(row.balance) }));
  const external = accounts.find((account) => account.kind === 'external')?.balance ?? 0n;
  const held = accounts.filter((account) => account.kind !== 'external').reduce((sum, account) => sum + account.balance, 0n);
  const problems: string[] = [];
  if (-external !== fundedTotal) problems.push(`external account owes ${-external}, simulator funded ${fundedTotal}`);
  if (held !== fundedTotal) problems.push(`wallets + escrow + fees hold ${held}, simulator funded ${fundedTotal}`);
  const wallets = new Map(accounts.filter((account) => account.kind === 'wallet').map((account) => [account.name.slice('wallet:'.length), account.balance]));
  for (const [device, expected] of await expectedWallets(query, funded)) {
    const found = wallets.get(device) ?? 0n;
    if (found !== expected && problems.length < MISMATCHES_SHOWN) problems.push(`wallet of ${device} holds ${found}, expected ${expected}`);
  }
  if (problems.length > 0) return { ok: false, detail: problems.join('; ') };
  return { ok: true, detail: `funded ${formatAmount(fundedTotal as Amount)} = wallets + escrow + fees; ${wallets.size} wallets match their channels` };
}
