// Broker benchmarks, all measured in this one run so the ratios compare like with like. The load
// generator runs in a child process, so this process's CPU time (process.cpuUsage: the event
// loop, the verify workers and V8's helpers) is the broker's alone.
//  1. CPU per node:crypto ed25519 verify (one thread, a voucher-sized message);
//  2. a raw aedes relay shaped like the pipeline: each message in at QoS 1, two out at QoS 0
//     (the "accepted" to the payer and the forward to the payee), payloads of a voucher's size:
//     its rate and the broker's CPU per message;
//  3. the ceiling: cores / (CPU per verify + CPU per relayed message): what the machine could
//     carry if the broker did nothing but verify and relay;
//  4. mqpay end to end: signed vouchers published at QoS 1, verified, group-committed to SQLite,
//     answered "accepted" and forwarded to the payee; its ratio to the ceiling (goal >= 0.8);
//  5. one settlement epoch over 100k changed channels (and over 1k changed among 100k).
// The figures go out as bench/figures.ts says (the last line of stdout).
import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import { amountOf } from '../shared/amount.js';
import { sign, verify } from '../shared/crypto.js';
import { generateKeyPair, type KeyPair } from '../shared/keys.js';
import { encodeVoucher } from '../shared/voucher.js';
import { benchEpoch, benchEpochOfVouchers } from './epoch.js';
import { printFigures, round, type Figures } from './figures.js';
import { rawRelay } from './mqtt-load.js';
import { embeddedEndToEnd } from './embedded-load.js';
import type { ThreadSplit } from './thread-cpu.js';

const random = (n: number) => new Uint8Array(randomBytes(n));
const VOUCHERS_PER_PAYER = Number(process.env.MQPAY_BENCH_VOUCHERS ?? 10_000);
const PAYERS = 4;

/** CPU microseconds per node:crypto verify of a voucher-sized message, on this thread. */
function verifyCpuUs(): { cpuUs: number; rate: number } {
  const keys = generateKeyPair(random);
  const message = encodeVoucher({ channelId: random(32), seq: 1n, total: amountOf(125n), expiresAtSeconds: 1n << 40n, memoDigest: null });
  const signature = sign(message, keys.secretKey);
  const startedCpu = process.cpuUsage();
  const started = performance.now();
  let count = 0;
  while (performance.now() - started < 1_000) {
    for (let i = 0; i < 200; i++) if (verify(signature, message, keys.publicKey)) count += 1;
  }
  const cpu = process.cpuUsage(startedCpu);
  return { cpuUs: (cpu.user + cpu.system) / count, rate: (count / (performance.now() - started)) * 1000 };
}

/** The per-thread split of the pipeline's CPU and the relay's event loop (none without /proc). */
function threadFigures(threads: ThreadSplit | null, relayMainUs: number | null): Figures {
  if (threads === null || relayMainUs === null) return {};
  return {
    pipeline_main_thread_cpu_us_per_voucher: { value: round(threads.mainUs, 1), unit: 'µs CPU', reference: 'the event loop alone: MQTT, judging, SQLite, replies' },
    pipeline_verify_thread_cpu_us_per_voucher: { value: round(threads.busiestOtherUs, 1), unit: 'µs CPU', reference: 'the busiest other thread: the verify worker' },
    pipeline_other_threads_cpu_us_per_voucher: { value: round(threads.restUs, 1), unit: 'µs CPU', reference: "V8's GC helpers, libuv's pool (the WAL fsync), other verify workers" },
    relay_main_thread_cpu_us_per_message: { value: round(relayMainUs, 1), unit: 'µs CPU', reference: "the raw relay's event loop" },
    pipeline_main_thread_over_relay_us: { value: round(threads.mainUs - relayMainUs, 1), unit: 'µs CPU', reference: 'pipeline_main_thread_cpu_us_per_voucher - relay_main_thread_cpu_us_per_message' },
  };
}

const verifyCost = verifyCpuUs();
const endToEnd = await embeddedEndToEnd(PAYERS, VOUCHERS_PER_PAYER);
const relay = await rawRelay(endToEnd.payloadBytes, PAYERS * VOUCHERS_PER_PAYER, { payers: PAYERS, publishQos: 1, copies: 2 });
const cores = availableParallelism();
const ceiling = cores / ((verifyCost.cpuUs + relay.cpuUsPerMessage) / 1e6);
const skipEpoch = process.env.MQPAY_BENCH_SKIP_EPOCH === '1';
/** Timed epochs per ledger (after 100k and after 1M vouchers), alternately; the figures are medians. */
const EPOCH_RUNS = 5;
const epoch = skipEpoch ? null : benchEpoch(100_000);
// Storage follows channels: the same 100k channels after 100k and after 1M vouchers.
const epochOfVouchers = skipEpoch ? null : benchEpochOfVouchers(100_000, 100_000, 1_000_000, EPOCH_RUNS);
const epochFewVouchers = epochOfVouchers?.few ?? null;
const epochManyVouchers = epochOfVouchers?.many ?? null;

const figures: Figures = {
  vouchers: { value: PAYERS * VOUCHERS_PER_PAYER, unit: 'vouchers', reference: `${PAYERS} payers, one channel each` },
  payload_bytes: { value: endToEnd.payloadBytes, unit: 'bytes', reference: 'one voucher message as published' },
  verify_cpu_us: { value: round(verifyCost.cpuUs, 2), unit: 'µs CPU', reference: 'one node:crypto ed25519 verify, one thread' },
  verify_per_s_one_core: { value: Math.round(verifyCost.rate), unit: 'verifies/s' },
  relay_messages_per_s: { value: Math.round(relay.rate), unit: 'messages/s', reference: 'raw aedes, QoS 1 in, two QoS 0 out, same payload size' },
  relay_cpu_us_per_message: { value: round(relay.cpuUsPerMessage, 2), unit: 'µs CPU', reference: 'broker process CPU per message of the raw relay' },
  cores: { value: cores, unit: 'cores', reference: 'os.availableParallelism()' },
  ceiling_vouchers_per_s: { value: Math.round(ceiling), unit: 'vouchers/s', reference: 'cores / (verify_cpu_us + relay_cpu_us_per_message)' },
  pipeline_vouchers_per_s: { value: Math.round(endToEnd.rate), unit: 'vouchers/s', reference: 'verify + commit + accepted + forward, end to end' },
  pipeline_cpu_us_per_voucher: { value: round(endToEnd.cpuUsPerVoucher, 1), unit: 'µs CPU', reference: 'broker process CPU per voucher (the load generator is another process)' },
  load_generator_cpu_us_per_voucher: { value: round(endToEnd.loadCpuUsPerVoucher, 1), unit: 'µs CPU', reference: 'shares the cores with the broker on this machine' },
  pipeline_to_ceiling: { value: round(endToEnd.rate / ceiling), unit: 'ratio', reference: 'pipeline_vouchers_per_s / ceiling_vouchers_per_s', goal: '>= 0.8' },
  // The same comparison in CPU time, which other load on the machine distorts less than rates do.
  pipeline_cpu_to_ceiling_cpu: { value: round((verifyCost.cpuUs + relay.cpuUsPerMessage) / endToEnd.cpuUsPerVoucher), unit: 'ratio', reference: '(verify_cpu_us + relay_cpu_us_per_message) / pipeline_cpu_us_per_voucher' },
  // The most the pipeline could reach here even at zero cost beyond a verify and a relayed
  // message: the devices (the load generator) run on the same cores and the ceiling leaves
  // them out, so cores / (verify + relay + load generator) is the bound, as a ratio to the ceiling.
  pipeline_to_ceiling_bound_here: { value: round((verifyCost.cpuUs + relay.cpuUsPerMessage) / (verifyCost.cpuUs + relay.cpuUsPerMessage + endToEnd.loadCpuUsPerVoucher)), unit: 'ratio', reference: '(verify_cpu_us + relay_cpu_us_per_message) / (verify_cpu_us + relay_cpu_us_per_message + load_generator_cpu_us_per_voucher)' },
  // Where the pipeline's CPU goes, by thread (Linux only): on two cores the event loop is the
  // part to compare with the relay's, which does all its work there.
  ...threadFigures(endToEnd.threads, relay.mainCpuUsPerMessage),
  broker_rss_mb_after_run: { value: Math.round(endToEnd.rssMb), unit: 'MB' },
  ...(epoch === null ? {} : {
    epoch_100k_changed_channels_ms: { value: Math.round(epoch.allChangedMs), unit: 'ms', goal: '< 1000' },
    epoch_1k_changed_of_100k_ms: { value: round(epoch.fewChangedMs, 1), unit: 'ms', reference: 'cost follows the changed channels' },
  }),
  ...(epochFewVouchers === null || epochManyVouchers === null ? {} : {
    epoch_after_100k_vouchers_ms: { value: Math.round(epochFewVouchers.epochMs), unit: 'ms', reference: '100k channels, 100k vouchers' },
    epoch_after_1m_vouchers_ms: { value: Math.round(epochManyVouchers.epochMs), unit: 'ms', reference: 'the same 100k channels, 1M vouchers' },
    epoch_1m_to_100k_vouchers_time_ratio: { value: round(epochManyVouchers.epochMs / epochFewVouchers.epochMs), unit: 'ratio', reference: `epoch_after_1m_vouchers_ms / epoch_after_100k_vouchers_ms, medians of ${EPOCH_RUNS} runs each, alternately`, goal: '<= 1.1' },
    epoch_1m_to_100k_vouchers_cpu_ratio: { value: round(epochManyVouchers.epochCpuMs / epochFewVouchers.epochCpuMs), unit: 'ratio', reference: `the same in CPU time (${round(epochManyVouchers.epochCpuMs, 0)} / ${round(epochFewVouchers.epochCpuMs, 0)} ms)` },
    database_1m_to_100k_vouchers_size_ratio: { value: round(epochManyVouchers.databaseBytes / epochFewVouchers.databaseBytes), unit: 'ratio', reference: `${epochManyVouchers.databaseBytes} / ${epochFewVouchers.databaseBytes} bytes`, goal: '<= 1.2' },
  }),
};
console.log(`native verify:            ${figures.verify_cpu_us?.value} µs CPU each (${figures.verify_per_s_one_core?.value}/s on one core)`);
console.log(`raw aedes relay:          ${figures.relay_messages_per_s?.value} msg/s, ${figures.relay_cpu_us_per_message?.value} µs CPU each (QoS 1 in, 2 x QoS 0 out, ${endToEnd.payloadBytes}-byte payloads)`);
console.log(`ceiling:                  ${figures.ceiling_vouchers_per_s?.value} vouchers/s (${cores} cores / (verify + relay CPU))`);
console.log(`mqpay end to end:         ${figures.pipeline_vouchers_per_s?.value} vouchers/s, ${figures.pipeline_cpu_us_per_voucher?.value} µs broker CPU each`);
console.log(`  ratio to the ceiling:   ${figures.pipeline_to_ceiling?.value} (goal >= 0.8); in CPU time: ${figures.pipeline_cpu_to_ceiling_cpu?.value}`);
if (figures.pipeline_main_thread_cpu_us_per_voucher !== undefined) {
  console.log(`  by thread (µs CPU per voucher): event loop ${figures.pipeline_main_thread_cpu_us_per_voucher.value} (relay's: ${figures.relay_main_thread_cpu_us_per_message?.value}), verify worker ${figures.pipeline_verify_thread_cpu_us_per_voucher?.value}, the rest ${figures.pipeline_other_threads_cpu_us_per_voucher?.value}`);
}
if (epoch !== null) console.log(`epoch, 100k changed channels: ${figures.epoch_100k_changed_channels_ms?.value} ms; 1k changed of 100k: ${figures.epoch_1k_changed_of_100k_ms?.value} ms`);
if (epochFewVouchers !== null && epochManyVouchers !== null) {
  console.log(`epoch of 100k channels after 1M vouchers / after 100k: ${figures.epoch_1m_to_100k_vouchers_time_ratio?.value} in time (medians), ${figures.epoch_1m_to_100k_vouchers_cpu_ratio?.value} in CPU, ${figures.database_1m_to_100k_vouchers_size_ratio?.value} in database size`);
  const runsOf = (of: typeof epochFewVouchers) => of.runs.map((r) => `${Math.round(r.epochMs)} ms (${Math.round(r.epochCpuMs)} CPU)`).join(', ');
  console.log(`  runs after 100k vouchers: ${runsOf(epochFewVouchers)}; after 1M: ${runsOf(epochManyVouchers)}`);
}
printFigures('broker', figures);
