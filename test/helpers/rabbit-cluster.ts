// A real two-node RabbitMQ cluster for one test FILE (a node takes 11-16 s to boot): started in
// beforeAll, always stopped in afterAll (also when a test or the start failed). Call it at the top
// of a describe block that is skipped with `rabbitSkipReason` when RabbitMQ is not installed:
//   describe.skipIf(rabbitSkipReason !== null)(`... ${rabbitSkipReason ?? ''}`, () => { ... })
import { afterAll, beforeAll } from 'vitest';
import { rabbitInstalled, RABBIT_SERVER_BIN } from '../../broker/cluster/rabbitmq/rabbit-env.js';
import { startRabbitCluster, type RabbitCluster } from '../../broker/cluster/rabbitmq/rabbit-cluster.js';
import { tempDir } from './broker-fixture.js';

/** null when the cluster tests can run; otherwise why they are skipped. */
export const rabbitSkipReason: string | null = rabbitInstalled()
  ? null
  : `(skipped: ${RABBIT_SERVER_BIN} is not installed; apt-get install rabbitmq-server)`;

/**
 * `authBaseUrl` is read in beforeAll, so a hook registered before this one (the auth service
 * listening on a free port) can provide it.
 */
export function rabbitClusterPerFile(options: { authBaseUrl: () => string; nodes?: number }): () => RabbitCluster {
  const dir = tempDir('mqpay-rabbit-');
  let cluster: RabbitCluster | null = null;
  beforeAll(async () => {
    cluster = await startRabbitCluster({ dir: dir.path, authBaseUrl: options.authBaseUrl(), nodes: options.nodes ?? 2 });
  }, 180_000);
  afterAll(async () => {
    try {
      await cluster?.stop();
    } finally {
      dir.remove();
    }
  }, 120_000);
  return () => {
    if (cluster === null) throw new Error('the RabbitMQ cluster is not running (its beforeAll failed or has not run)');
    return cluster;
  };
}
