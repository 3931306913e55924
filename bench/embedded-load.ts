// The embedded pipeline end to end (aedes + the service + SQLite in this process, the load
// generator in a child): the broker bench's main figure, and the reference the cluster bench
// sets its figures beside (measured again there, with the cluster's load, in the same run).
import { enrolBenchPair, runLoad, startBenchBroker } from './mqtt-load.js';
import type { ThreadSplit } from './thread-cpu.js';
import { openBenchChannel, pairPublishers, voucherPayloads } from './voucher-load.js';

export interface EndToEnd { rate: number; payloadBytes: number; rssMb: number; cpuUsPerVoucher: number; loadCpuUsPerVoucher: number; threads: ThreadSplit | null }

/** `payers` payers (and their payees), `vouchersPerPayer` vouchers each, through an mqpay broker on loopback. */
export async function embeddedEndToEnd(payers: number, vouchersPerPayer: number): Promise<EndToEnd> {
  const { app, url, close } = await startBenchBroker();
  const publishers = [];
  let payloadBytes = 0;
  for (let i = 0; i < payers; i++) {
    const keys = enrolBenchPair(app, i);
    const channelId = await openBenchChannel(url, `payer-${i}`, keys.payer, `payee-${i}`);
    const payloads = voucherPayloads(keys.payer, channelId, vouchersPerPayer);
    payloadBytes = payloads[0]?.length ?? 0;
    publishers.push(...pairPublishers({ payer: `payer-${i}`, payee: `payee-${i}`, keys, payloads }));
  }
  const total = payers * vouchersPerPayer;
  // Each voucher yields two messages: "accepted" to the payer and the forward to the payee.
  const result = await runLoad({ url, publishers, expectReplies: total * 2 });
  const accepted = app.service.telemetry.vouchersAccepted;
  if (accepted !== total) throw new Error(`expected ${total} accepted, got ${accepted}`);
  const rssMb = process.memoryUsage().rss / 1e6;
  await close();
  const perVoucher = (us: number): number => us / total;
  const threads = result.threads === null ? null : { mainUs: perVoucher(result.threads.mainUs), busiestOtherUs: perVoucher(result.threads.busiestOtherUs), restUs: perVoucher(result.threads.restUs) };
  return { rate: (total / result.elapsedMs) * 1000, payloadBytes, rssMb, cpuUsPerVoucher: result.brokerCpuUs / total, loadCpuUsPerVoucher: result.loadCpuUs / total, threads };
}

