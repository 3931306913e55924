// Cluster throughput [issue 15]: payers publish signed vouchers at QoS 1 through RabbitMQ's MQTT
// plugin (half of them on node A, half on node B; each payee reads its forwards on the other
// node), `mqpay worker` processes judge them and group-commit to a durable PostgreSQL ledger, and
// answer "accepted" to the payer and the forward to the payee through amq.topic. Measured end to
// end: from the first publish until the load generator holds every verdict and every forward,
// with 1 worker and then with 2 (the second added while the first runs, as `cluster up` starts
// them). The CPU of each process (each worker, each RabbitMQ node's beam.smp with its helpers,
// PostgreSQL's postmaster with its backends, the auth service, the load generator) is read from
// /proc before and after, per voucher. Everything shares this machine's cores, so the figures
// say what this machine does, not what a cluster of machines would; the embedded pipeline is
// measured again here with the same load, as the reference beside them.
// Without RabbitMQ or PostgreSQL (or with MQPAY_BENCH_SKIP_CLUSTER=1) it prints one
// "skipped: ..." line and a figure saying why.
import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import { postgresMissingReason } from '../broker/cluster/postgres-server.js';
import { rabbitInstalled, RABBIT_SERVER_BIN } from '../broker/cluster/rabbitmq/rabbit-env.js';
import { parseAmount } from '../shared/amount.js';
import { FRAME_KIND, INBOX_FRAME_VERSION, VOUCHER_INBOX_TAG } from '../shared/inbox-frames.js';
import { generateKeyPair } from '../shared/keys.js';
import { startBenchCluster, type BenchCluster } from './bench-cluster.js';
import { embeddedEndToEnd } from './embedded-load.js';
import { printFigures, round, type Figures } from './figures.js';
import { runLoad } from './mqtt-load.js';
import { cpuBetween, procAvailable, treeCpu } from './process-cpu.js';
import { openBenchChannel, pairPublishers, voucherPayloads } from './voucher-load.js';

const PAYERS = 4;
const VOUCHERS_PER_PAYER = Number(process.env.MQPAY_BENCH_CLUSTER_VOUCHERS ?? 2_500);
/** Vouchers through the fresh cluster before anything is measured (connections, JIT, caches). */
const WARM_UP_VOUCHERS = 1_000;
/** A run that has not ended by then is reported as a failure rather than left hanging. */
const RUN_TIMEOUT_MS = Number(process.env.MQPAY_BENCH_CLUSTER_TIMEOUT_MS ?? 180_000);
const random = (n: number) => new Uint8Array(randomBytes(n));

function skipReason(): string | null {
  if (process.env.MQPAY_BENCH_SKIP_CLUSTER === '1') return 'MQPAY_BENCH_SKIP_CLUSTER=1';
  if (!rabbitInstalled()) return `RabbitMQ is not installed (${RABBIT_SERVER_BIN} missing): apt-get install rabbitmq-server`;
  const postgres = postgresMissingReason();
  if (postgres !== null) return postgres;
  if (!procAvailable()) return 'no /proc to read each process\'s CPU time from (Linux only)';
  return null;
}

/** Enrols and funds `count` payer/payee pairs named after `run`, opens their channels, signs their vouchers. */
async function prepareRun(cluster: BenchCluster, run: string, count: number, vouchers: number): Promise<{ publishers: object[]; channels: Uint8Array[] }> {
  const urls = cluster.rabbit.nodes.map((node) => node.mqttUrl);
  const publishers: object[] = [];
  const channels: Uint8Array[] = [];
  for (let i = 0; i < count; i += 1) {
    const [payer, payee] = [`bench-${run}-payer-${i}`, `bench-${run}-payee-${i}`];
    const keys = { payer: generateKeyPair(random), payee: generateKeyPair(random) };
    await cluster.store.store.transaction(async (tx) => {
      await tx.addDevice(payer, keys.payer.publicKey, Date.now());
      await tx.addDevice(payee, keys.payee.publicKey, Date.now());
      await tx.fund({ device: payer, amount: parseAmount('1000'), key: `${payer}:funding`, nowMs: Date.now() });
    });
    const [payerUrl, payeeUrl] = [urls[i % urls.length] ?? '', urls[(i + 1) % urls.length] ?? ''];
    const channelId = await openBenchChannel(payerUrl, payer, keys.payer, payee);
    channels.push(channelId);
    publishers.push(...pairPublishers({ payer, payee, keys, payerUrl, payeeUrl, payloads: voucherPayloads(keys.payer, channelId, vouchers), countForwards: false }));
  }
  return { publishers, channels };
}

/** The processes whose CPU is read, by name: root pids of process trees. */
function processRoots(cluster: BenchCluster): Map<string, number> {
  const [nodeA, nodeB] = cluster.rabbit.nodes;
  return new Map([
    ...cluster.workers.map((worker, index): [string, number] => [`worker_${index}`, worker.pid]),
    ['rabbitmq_node_a', nodeA?.pid ?? 0], ['rabbitmq_node_b', nodeB?.pid ?? 0],
    ['postgresql', cluster.postgresPid], ['auth_service', cluster.auth.pid],
  ]);
}

/** `rate`: verdicts per second; `acceptedRate`: accepting verdicts per second. */
interface ClusterRun { readonly rate: number; readonly acceptedRate: number; readonly refused: number; readonly cpuUs: Map<string, number>; readonly loadCpuUs: number }

/** How every accepting verdict (binary, v3) begins: the inbox tag, the frame version, the kind. */
const ACCEPTED_PREFIX = Buffer.from([...VOUCHER_INBOX_TAG, INBOX_FRAME_VERSION, FRAME_KIND.accepted]).toString('hex');

function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not done after ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** One measured run: every voucher's verdict received, then every channel's latest seq checked in the ledger. */
async function measureRun(cluster: BenchCluster, run: string, vouchers: number): Promise<ClusterRun> {
  const { publishers, channels } = await prepareRun(cluster, run, PAYERS, vouchers);
  const roots = processRoots(cluster);
  let before = new Map<string, number>();
  let after = new Map<string, number>();
  const total = PAYERS * vouchers;
  const window = { started: () => (before = treeCpu(roots) ?? before), ended: () => (after = treeCpu(roots) ?? after) };
  const latestSeqs = () => Promise.all(channels.map(async (channel) => String((await cluster.store.store.reads.channel(channel))?.latestSeq)));
  // One verdict per voucher (accepted or refused); the forwards go at QoS 0 and are not waited for.
  const job = { url: cluster.rabbit.nodes[0]?.mqttUrl, publishers, expectReplies: total, tallyPrefix: ACCEPTED_PREFIX };
  const result = await withTimeout(runLoad(job, window), `cluster run ${run}`).catch(async (error: unknown) => {
    throw new Error(`${String(error)}; the channels' latest seqs in the ledger: ${(await latestSeqs()).join(', ')} of ${vouchers}`);
  });
  const seqs = await latestSeqs();
  if (seqs.some((seq) => seq !== String(vouchers))) throw new Error(`run ${run}: the channels' latest seqs are ${seqs.join(', ')}, not ${vouchers}`);
  const perSecond = (count: number): number => (count / result.elapsedMs) * 1000;
  return { rate: perSecond(total), acceptedRate: perSecond(result.tallied), refused: total - result.tallied, cpuUs: cpuBetween(before, after), loadCpuUs: result.loadCpuUs };
}

/** The figures of one run, keyed `cluster_{workers}w_...`. */
function runFigures(workers: number, run: ClusterRun, embeddedRate: number, total: number): Figures {
  const prefix = `cluster_${workers}w`;
  const clusterCpuUs = [...run.cpuUs.values()].reduce((sum, us) => sum + us, 0);
  const perProcess: Figures = Object.fromEntries([...run.cpuUs].map(([name, us]) => [`${prefix}_${name}_cpu_us_per_voucher`, { value: round(us / total, 1), unit: 'µs CPU', reference: `${name.replaceAll('_', ' ')}: its process tree, from /proc` }]));
  return {
    [`${prefix}_accepted_vouchers_per_s`]: { value: Math.round(run.acceptedRate), unit: 'vouchers/s', reference: `${workers} worker(s), two RabbitMQ nodes, PostgreSQL; accepting verdicts received per second, until every payer has its last verdict` },
    [`${prefix}_verdicts_per_s`]: { value: Math.round(run.rate), unit: 'vouchers/s', reference: 'every verdict, accepted or refused' },
    [`${prefix}_refused_vouchers`]: { value: run.refused, unit: 'vouchers', reference: `of ${total} published in order; the embedded broker refuses none of the same load` },
    [`${prefix}_to_embedded`]: { value: round(run.acceptedRate / embeddedRate), unit: 'ratio', reference: `${prefix}_accepted_vouchers_per_s / embedded_vouchers_per_s (same load, same run)` },
    [`${prefix}_cpu_us_per_voucher`]: { value: round(clusterCpuUs / total, 1), unit: 'µs CPU', reference: 'every cluster process together (workers, RabbitMQ, PostgreSQL, auth), not the load generator' },
    ...perProcess,
    [`${prefix}_load_generator_cpu_us_per_voucher`]: { value: round(run.loadCpuUs / total, 1), unit: 'µs CPU', reference: 'the MQTT load generator (its own process.cpuUsage)' },
  };
}

function printRun(workers: number, figures: Figures): void {
  const prefix = `cluster_${workers}w`;
  const parts = Object.entries(figures).filter(([key]) => key.startsWith(prefix) && key.endsWith('_cpu_us_per_voucher') && key !== `${prefix}_cpu_us_per_voucher`);
  console.log(`cluster, ${workers} worker(s):   ${figures[`${prefix}_accepted_vouchers_per_s`]?.value} accepted vouchers/s (${figures[`${prefix}_to_embedded`]?.value} of embedded; ${figures[`${prefix}_refused_vouchers`]?.value} refused, ${figures[`${prefix}_verdicts_per_s`]?.value} verdicts/s), ${figures[`${prefix}_cpu_us_per_voucher`]?.value} µs cluster CPU each`);
  console.log(`  µs CPU per voucher: ${parts.map(([key, figure]) => `${key.slice(prefix.length + 1, -'_cpu_us_per_voucher'.length)} ${figure.value}`).join(', ')}`);
}

async function benchCluster(): Promise<Figures> {
  const total = PAYERS * VOUCHERS_PER_PAYER;
  const embedded = await embeddedEndToEnd(PAYERS, VOUCHERS_PER_PAYER);
  const startedMs = performance.now();
  const cluster = await startBenchCluster();
  try {
    const startSeconds = (performance.now() - startedMs) / 1000;
    await measureRun(cluster, 'warm', WARM_UP_VOUCHERS / PAYERS);
    const one = await measureRun(cluster, 'one', VOUCHERS_PER_PAYER);
    await cluster.addWorker();
    const two = await measureRun(cluster, 'two', VOUCHERS_PER_PAYER);
    const figures: Figures = {
      cluster_vouchers: { value: total, unit: 'vouchers', reference: `${PAYERS} payers, one channel each, per run; payers on both nodes` },
      cores: { value: availableParallelism(), unit: 'cores', reference: 'shared by every process below' },
      cluster_start_s: { value: round(startSeconds, 1), unit: 's', reference: 'PostgreSQL, auth service, two RabbitMQ nodes, one worker' },
      embedded_vouchers_per_s: { value: Math.round(embedded.rate), unit: 'vouchers/s', reference: 'aedes + service + SQLite in one process, the same load, this run (it also waits for every forward)' },
      embedded_cpu_us_per_voucher: { value: round(embedded.cpuUsPerVoucher, 1), unit: 'µs CPU', reference: 'the embedded broker process' },
      ...runFigures(1, one, embedded.rate, total),
      ...runFigures(2, two, embedded.rate, total),
    };
    return figures;
  } finally {
    await cluster.stop();
  }
}

const skipped = skipReason();
if (skipped !== null) {
  console.log(`skipped: ${skipped}`);
  printFigures('cluster', { skipped: { value: skipped, unit: 'reason' } });
} else {
  const figures = await benchCluster();
  console.log(`embedded, same load:         ${figures.embedded_vouchers_per_s?.value} vouchers/s, ${figures.embedded_cpu_us_per_voucher?.value} µs broker CPU each`);
  printRun(1, figures);
  printRun(2, figures);
  console.log(`(${figures.cores?.value} cores shared by all of them and the load generator; cluster started in ${figures.cluster_start_s?.value} s)`);
  printFigures('cluster', figures);
}
