// The offline hand-over and redemption on the command line [docs/DESIGN.md rule 11]:
//   mqpay agent voucher PAYEE AMOUNT --home H [--out FILE]   the payer signs, no broker needed
//   mqpay agent accept FILE_OR_TEXT --home H                  the payee checks it offline and keeps it
//   mqpay agent redeem --home H --broker URL                  the payee hands the service what it holds
//   mqpay agent close PAYEE --home H --broker URL             the payer asks to close (dispute window)
// The text form of a handed-over voucher is one line: the protocol's voucher message,
// {"v":2,"voucher":"<164 hex>","signature":"<128 hex>"} (docs/PROTOCOL.md, out/voucher).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { requirePath, UsageError, type Command, type CommandInput } from '../../cli/command.js';
import { formatAmount, parseAmount, ZERO } from '../../shared/amount.js';
import { MqpayError } from '../../shared/errors.js';
import { createAgent } from '../agent.js';
import { loadAgentHome } from '../home/home.js';
import type { Agent } from '../agent-api.js';
import { brokerOptions, commandLogger, connectionOf, homeOption, optionalString } from './options.js';

/** An offline agent: it signs and accepts with what its home holds and never dials. */
async function withAgent<T>(input: CommandInput, offline: boolean, use: (agent: Agent) => Promise<T>): Promise<T> {
  const home = requirePath(input, 'home');
  const logger = commandLogger(input, loadAgentHome(home).config.device);
  const agent = await createAgent({ home, logger, ...(offline ? { offline: true, requestTimeoutMs: 1 } : connectionOf(input, home)) });
  try {
    return await use(agent);
  } finally {
    await agent.stop();
  }
}

/** The argument as the voucher text itself (it starts with '{') or as a file holding it. */
function voucherTextOf(input: CommandInput, argument: string): string {
  if (argument.trimStart().startsWith('{')) return argument;
  const path = resolve(input.io.cwd, argument);
  if (!existsSync(path)) throw new UsageError(`${argument} is neither a voucher ({"v":2,...}) nor a file`);
  return readFileSync(path, 'utf8');
}

export const voucherCommand: Command = {
  name: ['agent', 'voucher'],
  summary: 'sign the next voucher to PAYEE without the broker and print it (or write it to --out) for a direct hand-over',
  positionals: ['PAYEE', 'AMOUNT'],
  options: {
    ...homeOption,
    out: { type: 'string', description: 'write the voucher text to this file instead of stdout' },
    memo: { type: 'string', description: 'note hashed into the voucher' },
    'log-level': brokerOptions['log-level'] ?? { type: 'string', description: 'log level' },
  },
  async run(input) {
    const [payee, amountText] = input.positionals as [string, string];
    const amount = parseAmount(amountText);
    const memo = optionalString(input, 'memo');
    const signed = await withAgent(input, true, (agent) => agent.sign(payee, amount, memo === undefined ? {} : { memo }));
    const text = JSON.stringify(signed.message);
    const out = optionalString(input, 'out');
    if (out === undefined) {
      input.stdout(text);
    } else {
      writeFileSync(resolve(input.io.cwd, out), `${text}\n`, { mode: 0o600 });
      input.stdout(`signed seq ${signed.seq} to ${payee}: ${formatAmount(signed.amount)}, channel total ${formatAmount(signed.total)} (channel ${signed.channel}); written to ${out}`);
    }
    return 0;
  },
};

export const acceptCommand: Command = {
  name: ['agent', 'accept'],
  summary: 'check a handed-over voucher offline against the channel certificate and keep it; exit 0 accepted, 1 with the error code otherwise',
  positionals: ['FILE_OR_TEXT'],
  options: { ...homeOption, json: { type: 'boolean', description: 'print the payment as JSON' }, 'log-level': brokerOptions['log-level'] ?? { type: 'string', description: 'log level' } },
  async run(input) {
    const [argument = ''] = input.positionals;
    const text = voucherTextOf(input, argument);
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      throw new MqpayError('MESSAGE_INVALID', 'the voucher text is not JSON');
    }
    const payment = await withAgent(input, true, (agent) => agent.receiveVoucher(message as never));
    if (input.values.json === true) {
      input.stdout(JSON.stringify({ channel: payment.channel, payer: payment.payer, seq: payment.seq.toString(), amount: formatAmount(payment.amount), total: formatAmount(payment.total) }));
    } else {
      input.stdout(`accepted seq ${payment.seq} from ${payment.payer}: ${formatAmount(payment.amount)}, channel total ${formatAmount(payment.total)} (channel ${payment.channel}); \`mqpay agent redeem\` hands it to the service`);
    }
    return 0;
  },
};

export const redeemCommand: Command = {
  name: ['agent', 'redeem'],
  summary: 'hand the service every payer-signed voucher held that is better than its latest; exit 0 when the service holds the best on every channel',
  positionals: [],
  options: { ...homeOption, ...brokerOptions, json: { type: 'boolean', description: 'print the report as JSON' } },
  async run(input) {
    const report = await withAgent(input, false, (agent) => agent.redeem());
    if (input.values.json === true) {
      input.stdout(JSON.stringify({
        complete: report.complete,
        channels: report.channels.map((channel) => ({ ...channel, heldSeq: channel.heldSeq.toString(), heldTotal: formatAmount(channel.heldTotal), serviceSeq: channel.serviceSeq.toString(), serviceTotal: formatAmount(channel.serviceTotal) })),
      }));
    } else {
      for (const channel of report.channels) {
        const verdict = channel.error !== undefined ? `refused: ${channel.error}` : channel.submitted ? 'redeemed' : 'already held by the service';
        input.stdout(`channel ${channel.channel} from ${channel.payer} (${channel.state}): held seq ${channel.heldSeq} total ${formatAmount(channel.heldTotal)}; service seq ${channel.serviceSeq} total ${formatAmount(channel.serviceTotal)}: ${verdict}`);
      }
      input.stdout(report.complete ? 'the service holds the best voucher on every channel' : 'the service does NOT hold the best voucher on every channel');
    }
    return report.complete ? 0 : 1;
  },
};

export const closeCommand: Command = {
  name: ['agent', 'close'],
  summary: 'close the channels paying PAYEE: the service opens a dispute window and settles at its deadline',
  positionals: ['PAYEE'],
  options: { ...homeOption, ...brokerOptions },
  async run(input) {
    const [payee = ''] = input.positionals;
    const closed = await withAgent(input, false, async (agent) => {
      const channels = agent.channels().paying.filter((channel) => channel.payee === payee && channel.state === 'open');
      if (channels.length === 0) throw new MqpayError('CHANNEL_UNKNOWN', `no open channel to ${payee}`);
      const results = [];
      for (const channel of channels) results.push(await agent.close(channel.channel));
      return results;
    });
    for (const result of closed) {
      if (result.state === 'closed') input.stdout(`channel ${result.channel} closed: settled ${formatAmount(result.settled ?? ZERO)}, refunded ${formatAmount(result.refunded ?? ZERO)}`);
      else input.stdout(`channel ${result.channel} closing: settles at ${new Date(result.closesAtMs ?? 0).toISOString()}; the payee may redeem until then`);
    }
    return 0;
  },
};
