// A RabbitMQ node stopped mid-stream [issue 15]: a two-node cluster, a PostgreSQL ledger and one
// worker (given both nodes' AMQP URLs). The payer's agent is given both MQTT URLs, node B first;
// the payee's, node A first. After a few payments node B is stopped: the payer's link fails over
// to node A (agent/link/link-stream.ts) and pays again while node B is started again on the same
// name, data and ports (with one of two nodes down the outbox quorum queues have no majority, so
// that payment may wait for the restart; nothing is lost). Every payment is accepted exactly once: consecutive seqs, the
// exact total in the ledger and at the payee, no double-sign evidence, the settlement exact and
// the audit holding.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Agent } from '../agent/agent-api.js';
import { startRabbitNode, type RabbitNode } from '../broker/cluster/rabbitmq/rabbit-node.js';
import { loadOrCreateServiceKeyFile } from '../broker/service-key.js';
import { walletAccount } from '../broker/store/accounts.js';
import { auditPostgres } from '../broker/store/postgres/audit.js';
import { toHex } from '../shared/hex.js';
import { channelIdFromHex } from '../shared/ids.js';
import { NETWORK_POLL } from './helpers/agent-fixture.js';
import { random, tempDir } from './helpers/broker-fixture.js';
import { startWorkerChild, type WorkerChild } from './helpers/cluster-worker-child.js';
import { enrolledClusterAgent } from './helpers/cluster-agent.js';
import { clusterLedgerPerFile } from './helpers/cluster-ledger.js';
import { POSTGRES_MISSING } from './helpers/postgres.js';
import { rabbitClusterPerFile, rabbitSkipReason } from './helpers/rabbit-cluster.js';

const BROKER_ID = 'mqpay';
const PAYER = 'car-1';
const PAYEE = 'charger-1';
const BEFORE_STOP = 4;
const AFTER_STOP = 4;
/** A payment may wait for node B's restart (15-25 s on two shared cores). */
const PAYMENT_TIMEOUT_MS = 120_000;
const SETTLED_POLL = { timeout: 30_000, interval: 100 } as const;
const FAILOVER_POLL = { timeout: 30_000, interval: 50 } as const;

const skipReason = rabbitSkipReason ?? (POSTGRES_MISSING === null ? null : `(skipped: ${POSTGRES_MISSING})`);

describe.skipIf(skipReason !== null)(`a RabbitMQ node stopped mid-stream ${skipReason ?? ''}`, () => {
  const cluster = clusterLedgerPerFile(BROKER_ID);
  const rabbit = rabbitClusterPerFile({ authBaseUrl: cluster.authBaseUrl, nodes: 2 });
  const dir = tempDir('mqpay-cluster-node-stop-');
  const agents: Agent[] = [];
  let worker: WorkerChild | null = null;
  let restarted: RabbitNode | null = null;
  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.stop().catch(() => undefined)));
    await worker?.kill('SIGKILL');
    await restarted?.stop(); // the cluster helper stops the nodes it started, not this one
    dir.remove();
  }, 120_000);

  async function agentOn(device: string, brokerUrl: string, servicePublicKey: string, funds?: string): Promise<Agent> {
    const { agent } = await enrolledClusterAgent({
      ledger: cluster.ledger(), dir: dir.path, brokerId: BROKER_ID, device, brokerUrl, servicePublicKey, deposit: '2', paymentTimeoutMs: PAYMENT_TIMEOUT_MS,
      ...(funds === undefined ? {} : { funds }),
    });
    agents.push(agent);
    return agent;
  }

  it('stops node B under a paying agent: it fails over to node A, pays on while node B restarts, and no accepted payment is lost', async () => {
    const nodes = rabbit();
    const [nodeA, nodeB] = nodes.nodes;
    if (nodeA === undefined || nodeB === undefined) throw new Error('two nodes expected');
    const ledger = cluster.ledger();
    const serviceKeyFile = join(dir.path, 'service.key');
    const serviceKey = loadOrCreateServiceKeyFile(serviceKeyFile, random);
    worker = await startWorkerChild(['--amqp', `${nodeA.amqpUrl},${nodeB.amqpUrl}`, '--store', cluster.storeUrl(), '--service-key', serviceKeyFile, '--partitions', '4', '--id', 'w1', '--log-level', 'warn', '--epoch-seconds', '1']);
    const charger = await agentOn(PAYEE, `${nodeA.mqttUrl},${nodeB.mqttUrl}`, toHex(serviceKey.publicKey));
    const car = await agentOn(PAYER, `${nodeB.mqttUrl},${nodeA.mqttUrl}`, toHex(serviceKey.publicKey), '10');

    const seqs: bigint[] = [];
    for (let index = 0; index < BEFORE_STOP; index += 1) seqs.push((await car.pay(PAYEE, '0.01')).seq);
    // The payer's link was on node B: it loses it and connects again, through node A. The loss is
    // recorded from before the stop, since the reconnect may come before the stop returns.
    const links: boolean[] = [];
    const unwatch = car.onConnection((connected) => links.push(connected));
    await nodeB.stop();
    await expect.poll(() => links.includes(false), FAILOVER_POLL).toBe(true);
    await expect.poll(() => car.connected, FAILOVER_POLL).toBe(true);
    unwatch();
    const during = car.pay(PAYEE, '0.01');
    restarted = await startRabbitNode({
      nodeName: nodeB.nodeName, dir: nodeB.dir, home: nodeB.home, authBaseUrl: cluster.auth().baseUrl, workerPassword: nodes.workerPassword,
      amqpPort: nodeB.amqpPort, mqttPort: nodeB.mqttPort, distPort: nodeB.distPort,
    });
    seqs.push((await during).seq);
    for (let index = 1; index < AFTER_STOP; index += 1) seqs.push((await car.pay(PAYEE, '0.01', index === AFTER_STOP - 1 ? { receipt: true } : {})).seq);

    const payments = BEFORE_STOP + AFTER_STOP;
    expect(seqs).toEqual(Array.from({ length: payments }, (_, index) => BigInt(index + 1)));
    const channel = car.channels().paying[0]?.channel ?? '';
    expect(await ledger.store.reads.channel(channelIdFromHex(channel))).toMatchObject({ latestSeq: BigInt(payments), latestTotal: BigInt(payments) * 10_000n });
    expect(Number((await ledger.pool.query<{ n: string }>('SELECT count(*) AS n FROM double_signs')).rows[0]?.n)).toBe(0);
    await expect.poll(() => charger.channels().paid[0]?.receivedTotal, NETWORK_POLL).toBe('0.08');
    await expect.poll(() => ledger.store.reads.balance(walletAccount(PAYEE)), SETTLED_POLL).toBe(BigInt(payments) * 10_000n);
    expect((await auditPostgres(ledger.pool)).filter((check) => !check.ok)).toEqual([]);
  }, 240_000);
});
