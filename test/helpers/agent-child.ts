// A payer agent in its own process, for crash tests: the parent kills it with SIGKILL.
//   node agent-child.mjs HOME BROKER_URL kill-after N   pays 0.1 N times, then dies right after
//                                                       storing the next voucher, before publishing it
//   node agent-child.mjs HOME BROKER_URL stream PAYEE   pays 0.001 in a loop until killed
//   node agent-child.mjs HOME BROKER_URL tick-stream PAYEE  streams 1 per second every 10 ms (hash-chain
//                                                       ticks, the default) until killed
//   node agent-child.mjs HOME BROKER_URL idle           starts the agent and stays up until killed
//   node agent-child.mjs HOME BROKER_URL rotate-kill    rotates its key and dies right after the service's
//                                                       answer, before switching to the new key
//   node agent-child.mjs HOME BROKER_URL pay-loop PAYEE pays 0.001 one payment at a time until killed,
//                                                       through broker outages (a refused payment is retried)
// Progress goes to stdout, one line per event, so the parent can tell where the child was.
import { createAgent } from '../../agent/agent.js';

const [home, brokerUrl, mode, arg] = process.argv.slice(2);
const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  if (home === undefined || brokerUrl === undefined) throw new Error('usage: HOME BROKER_URL MODE ARG');
  let armed = false;
  const agent = await createAgent({
    home, brokerUrl, requestTimeoutMs: 3_000, paymentTimeoutMs: 5_000, resendIntervalMs: 200, reconnectPeriodMs: 50, reconnectPeriodMaxMs: 400,
    faults: {
      afterVoucherStored: (voucher) => {
        if (!armed) return;
        say(`stored ${voucher.seq} ${voucher.total}`);
        process.kill(process.pid, 'SIGKILL');
      },
      afterRotationAnswered: () => {
        if (mode !== 'rotate-kill') return;
        say('rotation answered');
        process.kill(process.pid, 'SIGKILL');
      },
    },
  });
  say('ready');
  if (mode === 'kill-after') {
    for (let i = 0; i < Number(arg); i++) {
      const payment = await agent.pay('charger-9', '0.1');
      say(`accepted ${payment.seq} ${payment.total}`);
    }
    armed = true;
    await agent.pay('charger-9', '0.1');
    say('not killed');
  } else if (mode === 'stream') {
    for (;;) {
      const signed = await agent.sign(arg ?? 'charger-9', '0.001');
      say(`signed ${signed.seq} ${signed.total}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
  } else if (mode === 'tick-stream') {
    const stream = agent.stream(arg ?? 'charger-9', { amountPerSecond: '1', intervalMs: 10 });
    const summary = await stream.done; // only if a payment failed: killed otherwise
    say(`stream ended ${summary.paid} ${String((summary.error as { code?: unknown } | null)?.code ?? summary.error)}`);
  } else if (mode === 'pay-loop') {
    for (;;) {
      try {
        const payment = await agent.pay(arg ?? 'charger-9', '0.001');
        say(`accepted ${payment.seq} ${payment.total}`);
      } catch (error) {
        say(`failed ${String((error as { code?: unknown }).code ?? error)}`);
        // Pacing while the broker is down, not synchronisation: the agent re-sends on its own.
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } else if (mode === 'rotate-kill') {
    say(`key ${agent.publicKey}`);
    await agent.rotateKey();
    say('not killed');
  } else if (mode === 'idle') {
    await new Promise(() => setInterval(() => undefined, 60_000)); // the timer keeps the process up
  }
  await agent.stop();
}

main().catch((error: unknown) => {
  process.stderr.write(`child failed: ${String((error as Error)?.stack ?? error)}\n`);
  process.exitCode = 1;
});
