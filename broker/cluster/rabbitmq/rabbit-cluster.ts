// A local RabbitMQ cluster of N nodes (two by default) in one directory: node 0 boots first (its
// first boot creates the vhost and the worker user), the others boot in parallel and join it.
// Layout of DIR: home/.erlang.cookie (shared), node-0/, node-1/, ... (config, mnesia, logs).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { writeCookie } from './rabbit-env.js';
import { joinCluster } from './join-cluster.js';
import { startRabbitNode, type RabbitNode } from './rabbit-node.js';

export interface RabbitClusterOptions {
  readonly dir: string;
  readonly authBaseUrl: string;
  readonly nodes?: number;
  /** Defaults to a fresh random one. */
  readonly workerPassword?: string;
  readonly outliveParent?: boolean;
}

export interface RabbitCluster {
  readonly nodes: readonly RabbitNode[];
  readonly workerPassword: string;
  /** Stops every node (the joined ones first), also those that failed half-way. */
  stop(): Promise<void>;
}

const randomToken = (bytes: number): string => randomBytes(bytes).toString('hex');

export async function startRabbitCluster(options: RabbitClusterOptions): Promise<RabbitCluster> {
  const count = options.nodes ?? 2;
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`a cluster needs at least one node, not ${count}`);
  const home = join(options.dir, 'home');
  writeCookie(home, randomToken(20));
  const workerPassword = options.workerPassword ?? randomToken(24);
  const prefix = `mqpay-${randomToken(4)}`;
  const started: RabbitNode[] = [];
  const stop = async (): Promise<void> => {
    for (const node of [...started].reverse()) await node.stop();
  };
  const start = async (index: number): Promise<RabbitNode> => {
    const node = await startRabbitNode({
      nodeName: `${prefix}-${index}@localhost`, dir: join(options.dir, `node-${index}`), home,
      authBaseUrl: options.authBaseUrl, workerPassword, outliveParent: options.outliveParent ?? false,
    });
    started.push(node);
    return node;
  };
  try {
    const seed = await start(0);
    // In parallel; all settled before any failure is thrown, so stop() sees every started node.
    const results = await Promise.allSettled(Array.from({ length: count - 1 }, (_, index) => start(index + 1)));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const others = results.map((result) => (result as PromiseFulfilledResult<RabbitNode>).value);
    for (const node of others) await joinCluster(node, seed);
    return { nodes: [seed, ...others], workerPassword, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
