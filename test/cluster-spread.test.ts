// Workers share the outbox partitions [issue 15]: over a real two-node RabbitMQ cluster and a
// PostgreSQL ledger, worker 1 starts alone and leases all partitions; worker 2 starts and, within
// a few re-balances, each holds half (what each worker logs, and RabbitMQ shows one consumer per
// partition queue: no standby left). A payer keeps paying through the hand-over and every payment
// is accepted in order. Worker 1 is SIGKILLed: its leases go with its PostgreSQL session, worker 2
// takes every partition and the payments go on. Nothing is lost or judged twice (consecutive
// seqs, exact totals, no double-sign evidence, the audit holds).
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Agent } from '../agent/agent-api.js';
import { rabbitmqctl } from '../broker/cluster/rabbitmq/rabbitmqctl.js';
import type { RabbitNode } from '../broker/cluster/rabbitmq/rabbit-node.js';
import { CLUSTER_VHOST } from '../broker/cluster/rabbitmq/rabbit-names.js';
import { OUTBOX_EXCHANGE } from '../broker/cluster/worker/topology.js';
import { loadOrCreateServiceKeyFile } from '../broker/service-key.js';
import { auditPostgres } from '../broker/store/postgres/audit.js';
import { amountOf, formatAmount } from '../shared/amount.js';
import { toHex } from '../shared/hex.js';
import { channelIdFromHex } from '../shared/ids.js';
import { random, tempDir } from './helpers/broker-fixture.js';
import { NETWORK_POLL } from './helpers/agent-fixture.js';
import { enrolledClusterAgent } from './helpers/cluster-agent.js';
import { startWorkerChild, type WorkerChild } from './helpers/cluster-worker-child.js';
import { clusterLedgerPerFile } from './helpers/cluster-ledger.js';
import { POSTGRES_MISSING } from './helpers/postgres.js';
import { rabbitClusterPerFile, rabbitSkipReason } from './helpers/rabbit-cluster.js';

const BROKER_ID = 'mqpay';
const PAYER = 'car-1';
const PAYEE = 'charger-1';
const PARTITIONS = 4;
/** Payments at most while waiting for a hand-over (each waits for its verdict). */
const PAYMENTS_WHILE_WAITING_MAX = 400;
const PAYMENTS_AFTER = 5;
/** A payment made just after the SIGKILL waits for the survivor's re-balance: on a loaded 2-core machine, past the agent's default. */
const PAYMENT_TIMEOUT_MS = 30_000;
/** Two workers' start, two hand-overs and rabbitmqctl polls (an Erlang VM per call). */
const TEST_TIMEOUT_MS = 180_000;

/** The partitions a worker last reported holding (its `partitions_held` log field). */
function heldBy(worker: WorkerChild): number[] | null {
  const reports = [...worker.output().matchAll(/"partitions_held":\[([0-9,]*)\]/g)];
  const last = reports.at(-1)?.[1];
  return last === undefined ? null : last === '' ? [] : last.split(',').map(Number);
}

/** Consumers (active or standing by) of each outbox partition queue, by queue name (live, from list_consumers). */
async function partitionConsumers(node: RabbitNode): Promise<Record<string, number>> {
  const rows = (await rabbitmqctl(node, ['list_consumers', '-p', CLUSTER_VHOST, '--quiet', '--no-table-headers', 'queue_name'])).trim().split('\n');
  const counts: Record<string, number> = {};
  for (const name of rows.map((row) => row.trim()).filter((row) => row.startsWith(`${OUTBOX_EXCHANGE}.`)).sort()) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

const oneConsumerEach = Object.fromEntries(Array.from({ length: PARTITIONS }, (_, index) => [`${OUTBOX_EXCHANGE}.${index}`, 1]));
const skipReason = rabbitSkipReason ?? (POSTGRES_MISSING === null ? null : `(skipped: ${POSTGRES_MISSING})`);

describe.skipIf(skipReason !== null)(`workers share the partitions over PostgreSQL leases ${skipReason ?? ''}`, () => {
  const cluster = clusterLedgerPerFile(BROKER_ID);
  const rabbit = rabbitClusterPerFile({ authBaseUrl: cluster.authBaseUrl, nodes: 2 });
  const dir = tempDir('mqpay-cluster-spread-');
  const workers: WorkerChild[] = [];
  const agents: Agent[] = [];
  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.stop().catch(() => undefined)));
    await Promise.all(workers.map((worker) => worker.kill('SIGKILL')));
    dir.remove();
  });
  const serviceKeyFile = join(dir.path, 'service.key');
  const workerArgs = (id: string, amqpUrl: string) => ['--amqp', amqpUrl, '--store', cluster.storeUrl(), '--service-key', serviceKeyFile, '--partitions', String(PARTITIONS), '--id', id, '--log-level', 'info', '--epoch-seconds', '1'];

  async function agentOn(device: string, brokerUrl: string, servicePublicKey: string, funds?: string): Promise<Agent> {
    const { agent } = await enrolledClusterAgent({ ledger: cluster.ledger(), dir: dir.path, brokerId: BROKER_ID, device, brokerUrl, servicePublicKey, deposit: '5', paymentTimeoutMs: PAYMENT_TIMEOUT_MS, ...(funds === undefined ? {} : { funds }) });
    agents.push(agent);
    return agent;
  }

  it('a second worker takes half the partitions, a killed one\'s go to the survivor, and every payment is accepted', async () => {
    const [nodeA, nodeB] = rabbit().nodes;
    if (nodeA === undefined || nodeB === undefined) throw new Error('two nodes expected');
    const serviceKey = loadOrCreateServiceKeyFile(serviceKeyFile, random);
    const first = await startWorkerChild(workerArgs('w1', nodeA.amqpUrl));
    workers.push(first);
    expect(heldBy(first)).toEqual([0, 1, 2, 3]);
    expect(await partitionConsumers(nodeA)).toEqual(oneConsumerEach);
    const car = await agentOn(PAYER, nodeA.mqttUrl, toHex(serviceKey.publicKey), '10');
    const charger = await agentOn(PAYEE, nodeB.mqttUrl, toHex(serviceKey.publicKey));
    const seqs: bigint[] = [];
    const pay = async (): Promise<void> => {
      seqs.push((await car.pay(PAYEE, '0.01')).seq);
    };
    /** Pays one payment after another until `done` holds (checked between payments). */
    const payUntil = async (done: () => Promise<boolean> | boolean): Promise<void> => {
      for (let paid = 0; !(await done()); paid += 1) {
        if (paid >= PAYMENTS_WHILE_WAITING_MAX) throw new Error(`no hand-over after ${paid} payments:\n${workers.map((worker) => worker.output()).join('\n')}`);
        await pay();
      }
    };
    await pay();

    const second = await startWorkerChild(workerArgs('w2', nodeB.amqpUrl));
    workers.push(second);
    const halves = () => heldBy(first)?.length === PARTITIONS / 2 && heldBy(second)?.length === PARTITIONS / 2;
    await payUntil(halves);
    expect([...(heldBy(first) ?? []), ...(heldBy(second) ?? [])].sort()).toEqual([0, 1, 2, 3]);
    // RabbitMQ agrees: one consumer per partition, no worker standing by on any.
    await payUntil(async () => JSON.stringify(await partitionConsumers(nodeB)) === JSON.stringify(oneConsumerEach));
    for (let index = 0; index < PAYMENTS_AFTER; index += 1) await pay();

    await first.kill('SIGKILL');
    await payUntil(() => heldBy(second)?.length === PARTITIONS);
    await payUntil(async () => JSON.stringify(await partitionConsumers(nodeB)) === JSON.stringify(oneConsumerEach));
    for (let index = 0; index < PAYMENTS_AFTER; index += 1) await pay();

    // Every payment accepted, in order, once.
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, index) => BigInt(index + 1)));
    const channel = car.channels().paying[0]?.channel ?? '';
    const paid = BigInt(seqs.length) * 10_000n;
    expect(await cluster.ledger().store.reads.channel(channelIdFromHex(channel))).toMatchObject({ latestSeq: BigInt(seqs.length), latestTotal: paid });
    const doubleSigns = await cluster.ledger().pool.query<{ n: string }>('SELECT count(*) AS n FROM double_signs');
    expect(Number(doubleSigns.rows[0]?.n)).toBe(0);
    await expect.poll(() => charger.channels().paid[0]?.receivedTotal, NETWORK_POLL).toBe(formatAmount(amountOf(paid)));
    expect((await auditPostgres(cluster.ledger().pool)).filter((check) => !check.ok)).toEqual([]);
  }, TEST_TIMEOUT_MS);
});
