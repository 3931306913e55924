// The cluster mode end to end [issue 15]: a real two-node RabbitMQ cluster, a PostgreSQL ledger,
// and two `mqpay worker` child processes. The payer's agent speaks MQTT to node A, the payee's to
// node B. Worker 1 starts first, leases every partition and takes the settlement leader lock;
// worker 2 leases its share at the next re-balance (broker/cluster/worker/partition-balancer.ts).
// Once each consumes its two partitions, both are frozen and a payment is made: whichever worker
// consumes the payer's voucher partition holds it unacknowledged (seen on its AMQP channel, on its
// node), and it is SIGKILLed while the other goes on. The killed worker's partitions move to
// the survivor, which receives the unacknowledged message again and answers it idempotently; if
// the killed one led, its lock goes with its PostgreSQL session and the survivor settles. Every
// payment the agent saw accepted is in the ledger, nothing is judged twice (consecutive seqs, no
// double-sign evidence, exact totals), the settlement is exact and the audit holds. Then the
// survivor's AMQP connection is cut and it comes back; a device subscribing again through the
// other node gets its latest receipt, and a buyer reading an offer gets it from the store
// (RabbitMQ keeps no retained copy here). An operator on node B reads the settlement summaries
// and the devices' connects and disconnects.
//
// RabbitMQ asks mqpay's auth service (broker/cluster/auth/, in this process over the same
// ledger) about every device login and topic: the agents log in with their real connect tokens.
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Agent } from '../agent/agent-api.js';
import { rabbitmqctl } from '../broker/cluster/rabbitmq/rabbitmqctl.js';
import type { KeyPair } from '../shared/keys.js';
import type { RabbitNode } from '../broker/cluster/rabbitmq/rabbit-node.js';
import { CLUSTER_VHOST, WORKER_USERNAME } from '../broker/cluster/rabbitmq/rabbit-names.js';
import { OUTBOX_EXCHANGE } from '../broker/cluster/worker/topology.js';
import { loadOrCreateServiceKeyFile } from '../broker/service-key.js';
import { walletAccount } from '../broker/store/accounts.js';
import { auditPostgres } from '../broker/store/postgres/audit.js';
import { parseAmount } from '../shared/amount.js';
import { toHex } from '../shared/hex.js';
import { channelIdFromHex } from '../shared/ids.js';
import { decodeReceiptInboxFrame } from '../shared/inbox-frames.js';
import { decodeReceipt } from '../shared/receipt.js';
import { inboxBoxesFilter, offerTopic, parseDeliveredTopic } from '../shared/topics.js';
import { OPERATOR_TOKEN, random, tempDir } from './helpers/broker-fixture.js';
import { connectPassword } from './helpers/broker-adversary.js';
import { NETWORK_POLL } from './helpers/agent-fixture.js';
import { enrolledClusterAgent } from './helpers/cluster-agent.js';
import { startWorkerChild, type WorkerChild } from './helpers/cluster-worker-child.js';
import { clusterLedgerPerFile } from './helpers/cluster-ledger.js';
import { POSTGRES_MISSING } from './helpers/postgres.js';
import { rabbitClusterPerFile, rabbitSkipReason } from './helpers/rabbit-cluster.js';

const BROKER_ID = 'mqpay';
const PAYER = 'car.1'; // a device id with a dot: the MQTT plugin's routing keys swap it for `/`
const PAYEE = 'charger-1';
const PAYMENTS = 24;
const KILL_AT = 8;
const PARTITIONS = 4;
const SETTLED_POLL = { timeout: 20_000, interval: 100 } as const;
// The frozen payment waits through the test's look-up of its holder (rabbitmqctl calls), the kill,
// and the survivor's next re-balance and RabbitMQ's redelivery: on a loaded 2-core machine, longer
// than the agent's default acceptance timeout.
const PAYMENT_TIMEOUT_MS = 60_000;
/** The first test: two workers' start, their re-balance and the failover, each polled with rabbitmqctl (an Erlang VM per call). */
const FAILOVER_TEST_TIMEOUT_MS = 180_000;

/** The id of each worker consuming an outbox partition (active consumers only), per partition queue. */
async function outboxConsumers(node: RabbitNode): Promise<Map<string, string>> {
  const text = await rabbitmqctl(node, ['list_consumers', '-p', CLUSTER_VHOST, '--quiet', '--no-table-headers', 'queue_name', 'consumer_tag', 'active']);
  const rows = text.trim().split('\n').map((row) => row.trim().split(/\s+/)).filter(([queue]) => queue?.startsWith(`${OUTBOX_EXCHANGE}.`) === true);
  const holders = new Map<string, string>();
  for (const [queue, tag, active] of rows) {
    const worker = /^mqpay-worker-(.+)-p\d+$/.exec(tag ?? '')?.[1];
    if (queue !== undefined && worker !== undefined && active === 'true') holders.set(queue, worker);
  }
  return holders;
}

/**
 * The node whose worker holds an outbox message delivered and not yet acknowledged (a channel of
 * the workers' user with unacknowledged messages: counted by the channel itself, so exact at once,
 * where a quorum queue's counts lag by its metrics tick); throws while none does.
 */
async function nodeHoldingUnacknowledged(nodes: readonly RabbitNode[]): Promise<RabbitNode> {
  const [any] = nodes;
  if (any === undefined) throw new Error('a node expected');
  const rows = (await rabbitmqctl(any, ['list_channels', '--quiet', '--no-table-headers', 'pid', 'user', 'messages_unacknowledged'])).trim().split('\n').map((row) => row.trim().split(/\s+/));
  const holding = rows.find(([, user, count]) => user === WORKER_USERNAME && Number(count) > 0)?.[0];
  const node = nodes.find((candidate) => holding?.startsWith(`<${candidate.nodeName}.`) === true);
  if (node === undefined) throw new Error(`no worker holds an outbox message unacknowledged yet: ${JSON.stringify(rows)}`);
  return node;
}

async function countRows(pool: pg.Pool, table: 'double_signs' | 'offers'): Promise<number> {
  const result = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(result.rows[0]?.n ?? -1);
}

/** What the operator's client reads on mqpay/v1/ops/# (settlement summaries and events). */
interface OpsMessage {
  readonly type: string;
  readonly device?: string;
  readonly amount?: string;
}

const skipReason = rabbitSkipReason ?? (POSTGRES_MISSING === null ? null : `(skipped: ${POSTGRES_MISSING})`);

describe.skipIf(skipReason !== null)(`cluster worker over a two-node RabbitMQ cluster and PostgreSQL ${skipReason ?? ''}`, () => {
  // The ledger and the auth service over it, before RabbitMQ, which is configured with its URL.
  const cluster = clusterLedgerPerFile(BROKER_ID);
  const rabbit = rabbitClusterPerFile({ authBaseUrl: cluster.authBaseUrl, nodes: 2 });
  const dir = tempDir('mqpay-cluster-worker-');
  const workers: WorkerChild[] = [];
  /** The worker left running after the first test's SIGKILL, with the node it is connected to. */
  let survivor: { readonly child: WorkerChild; readonly id: string; readonly node: RabbitNode } | null = null;
  const agents: Agent[] = [];
  const keys = new Map<string, KeyPair>();
  const opsMessages: OpsMessage[] = [];
  let operator: MqttClient | null = null;
  /** The device.connected / device.disconnected events of `device` on the ops stream, in order. */
  const presenceOf = (device: string): string[] => opsMessages.flatMap((message) => (message.device === device && message.type.startsWith('device.') ? [message.type] : []));
  const store = cluster.ledger;
  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.stop().catch(() => undefined)));
    await Promise.all(workers.map((worker) => worker.kill('SIGKILL')));
    await operator?.endAsync();
    dir.remove();
  });

  const serviceKeyFile = join(dir.path, 'service.key');
  const workerArgs = (id: string, amqpUrl: string) => ['--amqp', amqpUrl, '--store', cluster.storeUrl(), '--service-key', serviceKeyFile, '--partitions', String(PARTITIONS), '--id', id, '--log-level', 'warn', '--epoch-seconds', '1'];

  /** An agent home, enrolled (and funded) in the shared ledger, and its agent connected to `brokerUrl`. */
  async function agentOn(device: string, brokerUrl: string, servicePublicKey: string, funds?: string): Promise<Agent> {
    const { agent, keys: created } = await enrolledClusterAgent({ ledger: store(), dir: dir.path, brokerId: BROKER_ID, device, brokerUrl, servicePublicKey, deposit: '2', paymentTimeoutMs: PAYMENT_TIMEOUT_MS, ...(funds === undefined ? {} : { funds }) });
    keys.set(device, created);
    agents.push(agent);
    return agent;
  }

  it('pays through node A, is paid through node B; a worker SIGKILLed mid-stream loses nothing and judges nothing twice', async () => {
    const [nodeA, nodeB] = rabbit().nodes;
    if (nodeA === undefined || nodeB === undefined) throw new Error('two nodes expected');
    const serviceKey = loadOrCreateServiceKeyFile(serviceKeyFile, random);
    const started = [{ id: 'w1', node: nodeA }, { id: 'w2', node: nodeB }];
    for (const { id, node } of started) workers.push(await startWorkerChild(workerArgs(id, node.amqpUrl)));
    // Each worker consumes its share (two partitions) before any is frozen, so no re-balance is
    // under way while they are.
    await vi.waitFor(async () => {
      const perWorker = [...(await outboxConsumers(nodeA)).values()];
      expect(started.map(({ id }) => perWorker.filter((worker) => worker === id).length)).toEqual([PARTITIONS / 2, PARTITIONS / 2]);
    }, { timeout: 60_000, interval: 200 });

    // An operator watches the ops streams on node B.
    operator = await mqtt.connectAsync(nodeB.mqttUrl, { clientId: 'ops:watch', username: 'operator', password: OPERATOR_TOKEN, clean: true, protocolVersion: 4, reconnectPeriod: 0 });
    operator.on('message', (_topic, payload) => opsMessages.push(JSON.parse(payload.toString()) as OpsMessage));
    await operator.subscribeAsync('mqpay/v1/ops/#', { qos: 1 });
    const car = await agentOn(PAYER, nodeA.mqttUrl, toHex(serviceKey.publicKey), '10');
    const charger = await agentOn(PAYEE, nodeB.mqttUrl, toHex(serviceKey.publicKey));

    const seqs: bigint[] = [];
    for (let index = 1; index <= PAYMENTS; index += 1) {
      // Both workers are frozen; the one consuming the payer's voucher partition receives this
      // payment's voucher and is killed holding it unacknowledged: RabbitMQ gives it, with its
      // partitions, to the other (marked redelivered).
      if (index === KILL_AT) for (const worker of workers) process.kill(worker.process.pid ?? 0, 'SIGSTOP');
      const payment = car.pay(PAYEE, '0.01', index === PAYMENTS ? { receipt: true } : {});
      if (index === KILL_AT) {
        const holding = await vi.waitFor(() => nodeHoldingUnacknowledged([nodeA, nodeB]), { timeout: 60_000, interval: 50 });
        const killed = started.findIndex(({ node }) => node === holding);
        await workers[killed]?.kill('SIGKILL');
        const kept = 1 - killed;
        const child = workers[kept];
        const other = started[kept];
        if (child === undefined || other === undefined) throw new Error('two workers expected');
        survivor = { child, id: other.id, node: other.node };
        process.kill(child.process.pid ?? 0, 'SIGCONT');
      }
      seqs.push((await payment).seq);
    }
    expect(seqs).toEqual(Array.from({ length: PAYMENTS }, (_, index) => BigInt(index + 1)));
    const channel = car.channels().paying[0]?.channel ?? '';
    expect(await store().store.reads.channel(channelIdFromHex(channel))).toMatchObject({ latestSeq: BigInt(PAYMENTS), latestTotal: BigInt(PAYMENTS) * 10_000n });
    expect(await countRows(store().pool, 'double_signs')).toBe(0);
    await expect.poll(() => charger.channels().paid[0]?.receivedTotal, NETWORK_POLL).toBe('0.24');
    // The survivor leads (it took the lock when worker 1's session ended, if worker 1 was the one
    // killed) and settles at its next epoch: exactly what was paid, and the audit holds.
    await expect.poll(() => store().store.reads.balance(walletAccount(PAYEE)), SETTLED_POLL).toBe(BigInt(PAYMENTS) * 10_000n);
    expect((await auditPostgres(store().pool)).filter((check) => !check.ok)).toEqual([]);
    // Settlement notices reach the operator's stream through RabbitMQ (at most the amount paid:
    // one committed by the killed worker just before it froze may have had its notice die with it).
    const settled = () => opsMessages.flatMap((message) => (message.type === 'settlement' && message.amount !== undefined ? [parseAmount(message.amount)] : []));
    await expect.poll(() => settled().length, SETTLED_POLL).toBeGreaterThan(0);
    expect(settled().reduce((sum, amount) => sum + amount, 0n)).toBeLessThanOrEqual(BigInt(PAYMENTS) * 10_000n);
    // Both devices were seen connecting (each on its own node).
    expect(presenceOf(PAYER)).toContain('device.connected');
    expect(presenceOf(PAYEE)).toContain('device.connected');
  }, FAILOVER_TEST_TIMEOUT_MS);

  it('a worker whose AMQP connection is cut connects again and goes on taking payments', async () => {
    if (survivor === null) throw new Error('the first test leaves a surviving worker');
    const { child, id, node } = survivor;
    const connections = await rabbitmqctl(node, ['list_connections', '--quiet', '--no-table-headers', 'pid', 'client_properties']);
    const pid = new RegExp(`^(<[^>]+>).*mqpay-worker ${id}`, 'm').exec(connections)?.[1];
    expect(pid).toBeDefined();
    await rabbitmqctl(node, ['close_connection', pid ?? '', 'test: a lost connection']);
    await expect.poll(() => child.output().includes('AMQP connection back'), { timeout: 30_000, interval: 50 }).toBe(true);
    const payment = await agents[0]?.pay(PAYEE, '0.01', { receipt: true });
    expect(payment).toMatchObject({ seq: BigInt(PAYMENTS + 1), total: BigInt(PAYMENTS + 1) * 10_000n });
  });

  it('a device subscribing again through the other node gets its latest receipt; a buyer gets a stored offer on subscribe', async () => {
    const [, nodeB] = rabbit().nodes;
    if (nodeB === undefined) throw new Error('two nodes expected');
    const [car, charger] = agents;
    await car?.stop();
    await expect.poll(() => presenceOf(PAYER).at(-1), NETWORK_POLL).toBe('device.disconnected');
    await charger?.offer({ unit: 'kWh', price: '0.25' });
    await expect.poll(() => countRows(store().pool, 'offers'), NETWORK_POLL).toBe(1);
    // The payer again (its key, a fresh connect token), now on node B.
    const payerKeys = keys.get(PAYER);
    if (payerKeys === undefined) throw new Error('the payer was enrolled by the first test');
    const password = connectPassword({ device: PAYER, broker: BROKER_ID, keys: payerKeys });
    const client = await mqtt.connectAsync(nodeB.mqttUrl, { clientId: PAYER, username: PAYER, password, clean: true, protocolVersion: 4, reconnectPeriod: 0 });
    const delivered: { topic: ReturnType<typeof parseDeliveredTopic>; payload: Uint8Array }[] = [];
    client.on('message', (topic, payload) => delivered.push({ topic: parseDeliveredTopic(topic), payload: new Uint8Array(payload) }));
    try {
      await client.subscribeAsync(inboxBoxesFilter(PAYER), { qos: 1 });
      await expect.poll(() => delivered.some((message) => message.topic?.kind === 'inbox' && message.topic.box === 'receipt-bin'), NETWORK_POLL).toBe(true);
      const frame = decodeReceiptInboxFrame(delivered.find((message) => message.topic?.kind === 'inbox' && message.topic.box === 'receipt-bin')?.payload ?? new Uint8Array());
      expect(frame.type === 'receipt' ? decodeReceipt(frame.bytes) : null).toMatchObject({ seq: BigInt(PAYMENTS + 1), total: BigInt(PAYMENTS + 1) * 10_000n });
      await client.subscribeAsync(offerTopic(PAYEE), { qos: 1 });
      await expect.poll(() => delivered.filter((message) => message.topic?.kind === 'offer' && message.topic.device === PAYEE).length, NETWORK_POLL).toBe(1);
    } finally {
      await client.endAsync();
    }
    // The surviving worker, stopped gracefully, took the killed worker's held message again.
    await survivor?.child.kill('SIGTERM');
    expect(survivor?.child.output()).toMatch(/messages handled, [1-9][0-9]* of them redelivered/);
  });
});
