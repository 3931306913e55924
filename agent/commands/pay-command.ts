// `mqpay agent pay PAYEE AMOUNT`: one payment from the command line. Exit 0 once the service
// has accepted it; otherwise non-zero with the error code and what happens to the voucher.
// `mqpay agent pay PAYEE --offer --quantity N` pays exactly price x N against the payee's signed
// offer (agent/payer/offer-payment.ts), the offer's digest in the voucher's memo.
import { integerOption, requirePath, UsageError, type Command, type CommandInput } from '../../cli/command.js';
import { formatAmount, parseAmount, type Amount } from '../../shared/amount.js';
import { createAgent } from '../agent.js';
import { loadAgentHome } from '../home/home.js';
import { brokerOptions, commandLogger, connectionOf, homeOption, optionalString } from './options.js';
import { PAY_TIMEOUT_MS_DEFAULT, PAY_TIMEOUT_MS_MAX } from '../limits.js';
import type { OfferPayment, Payment } from '../types.js';
import { Deadline, DeadlineExpired } from '../deadline.js';
import { systemClock } from '../ports.js';

export const payCommand: Command = {
  name: ['agent', 'pay'],
  summary: 'pay AMOUNT to PAYEE (or --offer --quantity N: price x N against its signed offer); exits 0 once the service has accepted the payment',
  positionals: ['PAYEE', '[AMOUNT]'],
  options: {
    ...homeOption,
    ...brokerOptions,
    memo: { type: 'string', description: 'note hashed, with a random salt, into the voucher (the salt is printed: give both to the payee)' },
    'memo-salt': { type: 'string', description: 'the memo digest\'s salt, 32 hex, when the payee chose it (an invoice)' },
    offer: { type: 'boolean', description: 'pay against PAYEE\'s current signed offer (no AMOUNT): its signature and expiry are checked first' },
    quantity: { type: 'string', description: 'with --offer: units to buy; the payment is exactly price x quantity' },
    receipt: { type: 'boolean', description: 'also wait for the payee\'s signed receipt' },
    'timeout-ms': { type: 'string', description: 'how long the whole payment may take: connecting, opening a channel, acceptance (and the receipt)', default: String(PAY_TIMEOUT_MS_DEFAULT) },
    json: { type: 'boolean', description: 'print the payment as JSON' },
  },
  async run(input) {
    const home = requirePath(input, 'home');
    const [payee, amountText] = input.positionals as [string, string | undefined];
    const timeoutMs = integerOption(input, 'timeout-ms', 1, PAY_TIMEOUT_MS_MAX) ?? PAY_TIMEOUT_MS_DEFAULT;
    const order = orderOf(input, amountText);
    const logger = commandLogger(input, loadAgentHome(home).config.device);
    // One deadline for the whole command: the connect wait and the payment share --timeout-ms.
    const deadline = new Deadline(systemClock, timeoutMs);
    const agent = await createAgent({ home, ...connectionOf(input, home), logger, connectWaitMs: timeoutMs, paymentTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs });
    try {
      // Not connected by the deadline: nothing is signed, so nothing can be paid twice later. A
      // broker that answered and refused says why (DEVICE_DISABLED, NOT_AUTHORIZED...).
      if (!agent.connected) throw agent.refusal ?? deadline.expired({ name: 'connect', awaited: 'connection to the broker', consequence: 'nothing was signed or paid' }, 'SERVICE_UNAVAILABLE');
      const left = Math.max(1, deadline.remainingMs());
      const receipt = input.values.receipt === true;
      if (order.kind === 'offer') {
        printOfferPayment(input, payee, await agent.payOffer(payee, { quantity: order.quantity, receipt, timeoutMs: left }));
      } else {
        printPayment(input, payee, await agent.pay(payee, order.amount, { receipt, timeoutMs: left, ...order.memo }));
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

type Order =
  | { readonly kind: 'amount'; readonly amount: Amount; readonly memo: { memo?: string; memoSalt?: string } }
  | { readonly kind: 'offer'; readonly quantity: bigint };

/** AMOUNT (with an optional memo), or --offer --quantity N: exactly one of them. */
function orderOf(input: CommandInput, amountText: string | undefined): Order {
  if (input.values.offer !== true) {
    if (amountText === undefined) throw new UsageError('pass AMOUNT, or --offer --quantity N to pay against the payee\'s signed offer');
    if (input.values.quantity !== undefined) throw new UsageError('--quantity goes with --offer');
    const memo = optionalString(input, 'memo');
    const memoSalt = optionalString(input, 'memo-salt');
    return { kind: 'amount', amount: parseAmount(amountText), memo: { ...(memo === undefined ? {} : { memo }), ...(memoSalt === undefined ? {} : { memoSalt }) } };
  }
  if (amountText !== undefined) throw new UsageError('--offer pays price x quantity: leave out AMOUNT');
  if (input.values.memo !== undefined || input.values['memo-salt'] !== undefined) throw new UsageError('--offer puts the offer\'s digest in the memo: leave out --memo');
  const quantityText = optionalString(input, 'quantity');
  if (quantityText === undefined || !/^[1-9][0-9]{0,18}$/.test(quantityText)) throw new UsageError('--offer needs --quantity N, a positive whole number of units');
  return { kind: 'offer', quantity: BigInt(quantityText) };
}

function paymentJson(payee: string, payment: Payment): Record<string, unknown> {
  return { channel: payment.channel, payee, seq: payment.seq.toString(), amount: formatAmount(payment.amount), total: formatAmount(payment.total), receipt: payment.receipt?.message ?? null, memoSalt: payment.memoSalt ?? null };
}

function printPayment(input: CommandInput, payee: string, payment: Payment): void {
  if (input.values.json === true) return input.stdout(JSON.stringify(paymentJson(payee, payment)));
  input.stdout(`paid ${formatAmount(payment.amount)} to ${payee}: accepted as seq ${payment.seq}, channel total ${formatAmount(payment.total)} (channel ${payment.channel})`);
  if (payment.receipt !== undefined) input.stdout(`receipt from ${payee} for seq ${payment.receipt.seq}`);
  if (payment.memoSalt !== undefined) input.stdout(`memo salt: ${payment.memoSalt} (give it to ${payee} with the memo; the service never sees either)`);
}

function printOfferPayment(input: CommandInput, payee: string, payment: OfferPayment): void {
  const { offer } = payment;
  if (input.values.json === true) {
    const named = { digest: offer.digest, currency: offer.currency, unit: offer.unit, price: formatAmount(offer.price), quantity: payment.quantity.toString(), expiresAtSeconds: offer.expiresAtSeconds.toString() };
    return input.stdout(JSON.stringify({ ...paymentJson(payee, payment), offer: named }));
  }
  input.stdout(`offer of ${payee}: ${formatAmount(offer.price)} ${offer.currency} per ${offer.unit}, signed by ${payee}, expires ${new Date(Number(offer.expiresAtSeconds) * 1000).toISOString()} (digest ${offer.digest})`);
  printPayment(input, payee, payment);
  input.stdout(`bought ${payment.quantity} ${offer.unit} at ${formatAmount(offer.price)}: the voucher's memo digest is the offer's`);
}
