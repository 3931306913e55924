// `mqpay agent run`: the long-running device process. Receives payments (logging each),
// answers with receipts, re-sends its own pending vouchers, optionally advertises a price,
// and stops cleanly when told to (SIGINT or SIGTERM in the bin). Logs are pino JSON lines on stderr.
import { requirePath, type Command } from '../../cli/command.js';
import { formatAmount } from '../../shared/amount.js';
import { MqpayError } from '../../shared/errors.js';
import { createAgent } from '../agent.js';
import { loadAgentHome } from '../home/home.js';
import { brokerOptions, commandLogger, connectionOf, homeOption, optionalString } from './options.js';

export const runCommand: Command = {
  name: ['agent', 'run'],
  summary: 'run the device agent: receive payments, send receipts, re-send pending vouchers (until SIGINT/SIGTERM)',
  positionals: [],
  options: {
    ...homeOption,
    ...brokerOptions,
    'log-level': { type: 'string', description: 'log level on stderr (pino JSON lines)', default: 'info' },
    'offer-unit': { type: 'string', description: 'advertise a price per this unit (e.g. Wh)' },
    'offer-price': { type: 'string', description: 'the advertised price per unit, e.g. 0.00025; the offer is signed with the device key and signed again after every reconnect' },
    'offer-currency': { type: 'string', description: 'ISO 4217 code of the offer\'s price; must be the ledger\'s (default EUR)' },
  },
  async run(input) {
    const home = requirePath(input, 'home');
    const logger = commandLogger(input, loadAgentHome(home).config.device);
    const agent = await createAgent({ home, ...connectionOf(input, home), logger, connectWaitMs: 0 });
    const signal = input.io.untilStopped();
    agent.onPayment((payment) => {
      logger.info({ channel: payment.channel, payer: payment.payer, seq: payment.seq.toString(), amount: formatAmount(payment.amount), total: formatAmount(payment.total), source: payment.source }, 'payment received');
    });
    const unit = optionalString(input, 'offer-unit');
    const price = optionalString(input, 'offer-price');
    const currency = optionalString(input, 'offer-currency');
    if (unit !== undefined && price !== undefined) {
      agent.offer({ unit, price, ...(currency === undefined ? {} : { currency }) }).then(
        () => logger.info({ unit, price }, 'offer published'),
        (error: unknown) => logger.warn({ err: (error as Error).message }, 'offer not published yet (kept: it is sent after the next connect)'),
      );
    }
    // Disabled by the operator: stop with DEVICE_DISABLED (exit 1) instead of running on refused.
    const disabled = new Promise<MqpayError>((resolve) => {
      const check = (error: MqpayError) => {
        if (error.code === 'DEVICE_DISABLED') resolve(error);
      };
      if (agent.refusal !== null) check(agent.refusal);
      agent.onRefused(check);
    });
    const ended = await Promise.race([signal.then((reason) => ({ reason })), disabled.then((error) => ({ error }))]);
    logger.info('reason' in ended ? { signal: ended.reason } : { code: ended.error.code }, 'stopping');
    await agent.stop();
    if ('error' in ended) throw ended.error;
    return 0;
  },
};
