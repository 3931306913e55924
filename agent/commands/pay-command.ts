// `mqpay agent pay PAYEE AMOUNT`: one payment from the command line. Exit 0 once the service
// has accepted it; otherwise non-zero with the error code and what happens to the voucher.
import { integerOption, requirePath, type Command } from '../../cli/command.js';
import { formatAmount, parseAmount } from '../../shared/amount.js';
import { createAgent } from '../agent.js';
import { loadAgentHome } from '../home/home.js';
import { brokerOptions, commandLogger, connectionOf, homeOption, optionalString } from './options.js';
import { PAY_TIMEOUT_MS_DEFAULT, PAY_TIMEOUT_MS_MAX } from '../limits.js';
import { Deadline, DeadlineExpired } from '../deadline.js';
import { systemClock } from '../ports.js';

export const payCommand: Command = {
  name: ['agent', 'pay'],
  summary: 'pay AMOUNT to PAYEE; exits 0 once the service has accepted the payment',
  positionals: ['PAYEE', 'AMOUNT'],
  options: {
    ...homeOption,
    ...brokerOptions,
    memo: { type: 'string', description: 'note hashed, with a random salt, into the voucher (the salt is printed: give both to the payee)' },
    'memo-salt': { type: 'string', description: 'the memo digest\'s salt, 32 hex, when the payee chose it (an invoice)' },
    receipt: { type: 'boolean', description: 'also wait for the payee\'s signed receipt' },
    'timeout-ms': { type: 'string', description: 'how long the whole payment may take: connecting, opening a channel, acceptance (and the receipt)', default: String(PAY_TIMEOUT_MS_DEFAULT) },
    json: { type: 'boolean', description: 'print the payment as JSON' },
  },
  async run(input) {
    const home = requirePath(input, 'home');
    const [payee, amountText] = input.positionals as [string, string];
    const amount = parseAmount(amountText);
    const timeoutMs = integerOption(input, 'timeout-ms', 1, PAY_TIMEOUT_MS_MAX) ?? PAY_TIMEOUT_MS_DEFAULT;
    const memo = optionalString(input, 'memo');
    const memoSalt = optionalString(input, 'memo-salt');
    const logger = commandLogger(input, loadAgentHome(home).config.device);
    // One deadline for the whole command: the connect wait and the payment share --timeout-ms.
    const deadline = new Deadline(systemClock, timeoutMs);
    const agent = await createAgent({ home, ...connectionOf(input, home), logger, connectWaitMs: timeoutMs, paymentTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs });
    try {
      // Not connected by the deadline: nothing is signed, so nothing can be paid twice later.
      if (!agent.connected) throw deadline.expired({ name: 'connect', awaited: 'connection to the broker', consequence: 'nothing was signed or paid' }, 'SERVICE_UNAVAILABLE');
      const left = Math.max(1, deadline.remainingMs());
      const payment = await agent.pay(payee, amount, { receipt: input.values.receipt === true, timeoutMs: left, ...(memo === undefined ? {} : { memo }), ...(memoSalt === undefined ? {} : { memoSalt }) });
      if (input.values.json === true) {
        input.stdout(JSON.stringify({ channel: payment.channel, payee, seq: payment.seq.toString(), amount: formatAmount(payment.amount), total: formatAmount(payment.total), receipt: payment.receipt?.message ?? null, memoSalt: payment.memoSalt ?? null }));
      } else {
        input.stdout(`paid ${formatAmount(payment.amount)} to ${payee}: accepted as seq ${payment.seq}, channel total ${formatAmount(payment.total)} (channel ${payment.channel})`);
        if (payment.receipt !== undefined) input.stdout(`receipt from ${payee} for seq ${payment.receipt.seq}`);
        if (payment.memoSalt !== undefined) input.stdout(`memo salt: ${payment.memoSalt} (give it to ${payee} with the memo; the service never sees either)`);
      }
      return 0;
    } catch (error) {
      if (!(error instanceof DeadlineExpired)) throw error;
      if (error.phase.name === 'acceptance' || error.phase.name === 'receipt') input.stderr('the voucher is stored; `mqpay agent run` (or the next pay) re-sends it until the service accepts it');
      // Reported against the command's whole --timeout-ms, not the part left for the payment.
      throw deadline.expired(error.phase, error.code === 'SERVICE_UNAVAILABLE' ? 'SERVICE_UNAVAILABLE' : 'TIMEOUT');
    } finally {
      await agent.stop();
    }
  },
};
