// `mqpay agent pay PAYEE AMOUNT`: one payment from the command line. Exit 0 once the service
// has accepted it; otherwise non-zero with the error code and what happens to the voucher.
import { integerOption, requirePath, type Command } from '../../cli/command.js';
import { formatAmount, parseAmount } from '../../shared/amount.js';
import { MqpayError } from '../../shared/errors.js';
import { createAgent } from '../agent.js';
import { loadAgentHome } from '../home/home.js';
import { brokerOptions, commandLogger, connectionOf, homeOption, optionalString } from './options.js';
import { PAY_TIMEOUT_MS_DEFAULT, PAY_TIMEOUT_MS_MAX } from '../limits.js';

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
    'timeout-ms': { type: 'string', description: 'how long to wait for acceptance', default: String(PAY_TIMEOUT_MS_DEFAULT) },
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
    const agent = await createAgent({ home, ...connectionOf(input, home), logger, connectWaitMs: timeoutMs, paymentTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs });
    try {
      const payment = await agent.pay(payee, amount, { receipt: input.values.receipt === true, timeoutMs, ...(memo === undefined ? {} : { memo }), ...(memoSalt === undefined ? {} : { memoSalt }) });
      if (input.values.json === true) {
        input.stdout(JSON.stringify({ channel: payment.channel, payee, seq: payment.seq.toString(), amount: formatAmount(payment.amount), total: formatAmount(payment.total), receipt: payment.receipt?.message ?? null, memoSalt: payment.memoSalt ?? null }));
      } else {
        input.stdout(`paid ${formatAmount(payment.amount)} to ${payee}: accepted as seq ${payment.seq}, channel total ${formatAmount(payment.total)} (channel ${payment.channel})`);
        if (payment.receipt !== undefined) input.stdout(`receipt from ${payee} for seq ${payment.receipt.seq}`);
        if (payment.memoSalt !== undefined) input.stdout(`memo salt: ${payment.memoSalt} (give it to ${payee} with the memo; the service never sees either)`);
      }
      return 0;
    } catch (error) {
      if (error instanceof MqpayError && error.code === 'TIMEOUT') input.stderr('the voucher is stored; `mqpay agent run` (or the next pay) re-sends it until the service accepts it');
      throw error;
    } finally {
      await agent.stop();
    }
  },
};
