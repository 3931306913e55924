// A device program on the mqpay agent library, as an integrator writes it after
// `npm install mqpay`: `mqpay/agent` for the device runtime, `mqpay/protocol` for the shared
// protocol core. Usage: node pay.js HOME BROKER_URL PAYEE AMOUNT
import { createAgent, formatAmount, type Payment } from 'mqpay/agent';
import { parseAmount, PROTOCOL_VERSION } from 'mqpay/protocol';

const [home, brokerUrl, payee, amountText] = process.argv.slice(2);
if (home === undefined || brokerUrl === undefined || payee === undefined || amountText === undefined) {
  console.error('usage: pay HOME BROKER_URL PAYEE AMOUNT');
  process.exit(2);
}
const amount = parseAmount(amountText); // integer micro-units; a bad amount throws AMOUNT_INVALID
const agent = await createAgent({ home, brokerUrl });
try {
  const payment: Payment = await agent.pay(payee, amount);
  console.log(JSON.stringify({ protocol: PROTOCOL_VERSION, payee, amount: formatAmount(amount), seq: payment.seq.toString() }));
} finally {
  await agent.stop();
}
