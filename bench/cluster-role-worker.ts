// One process of the benched cluster (forked by bench/cluster.bench.ts), so that each one's CPU
// time can be read from /proc on its own: `auth` runs the HTTP auth backend RabbitMQ asks about
// every login and topic, `worker` runs one `mqpay worker` (broker/cluster/worker/worker.ts) with
// the per-device rate limits out of the way of a load test, as bench/mqtt-load.ts does for the
// embedded broker. Protocol on the IPC channel: the role in, `{ type: 'ready', ... }` out, then
// 'stop' in: it closes (a worker finishes and acknowledges what it holds) and exits.
import { pino } from 'pino';
import { startAuthServer } from '../broker/cluster/auth/auth-server.js';
import { storeLogins } from '../broker/cluster/auth/store-logins.js';
import { startClusterWorker } from '../broker/cluster/worker/worker.js';
import { OUTBOX_PREFETCH_DEFAULT } from '../broker/limits.js';
import { Telemetry } from '../broker/service/telemetry.js';
import { openStore } from '../broker/store/open-store.js';

export type ClusterRole =
  | { readonly role: 'auth'; readonly storeUrl: string; readonly brokerId: string; readonly operatorToken: string }
  | { readonly role: 'worker'; readonly storeUrl: string; readonly amqpUrls: readonly string[]; readonly serviceKeyFile: string; readonly partitions: number; readonly id: string };

/** What a role's `ready` message carries. */
export interface RoleReady { readonly type: 'ready'; readonly authBaseUrl?: string; readonly leading?: boolean }

/** The same lifted limits as the embedded bench broker (bench/mqtt-load.ts startBenchBroker). */
const LOAD_TEST_LIMITS = { messagesPerSecondPerDevice: 1_000_000, messagesBurstPerDevice: 1_000_000, inFlightPerDevice: 100_000 } as const;

const untilStop = (): Promise<void> => new Promise((resolve) => process.once('message', () => resolve()));

async function runAuth(job: Extract<ClusterRole, { role: 'auth' }>): Promise<void> {
  const logger = pino({ level: 'silent' });
  const telemetry = new Telemetry();
  const opened = await openStore(job.storeUrl);
  const server = await startAuthServer({ service: storeLogins(opened.store, telemetry, logger), clock: { nowMs: () => Date.now() }, brokerId: job.brokerId, operatorToken: job.operatorToken, telemetry, logger, offersWildcard: false }, { port: 0 });
  process.send?.({ type: 'ready', authBaseUrl: server.baseUrl } satisfies RoleReady);
  await untilStop();
  await server.close();
  await opened.close();
}

async function runWorker(job: Extract<ClusterRole, { role: 'worker' }>): Promise<void> {
  const worker = await startClusterWorker({
    amqpUrls: job.amqpUrls, storeUrl: job.storeUrl, serviceKeyFile: job.serviceKeyFile, partitions: job.partitions,
    prefetch: OUTBOX_PREFETCH_DEFAULT, id: job.id, leader: false, settings: { logLevel: 'warn', ...LOAD_TEST_LIMITS },
  });
  process.send?.({ type: 'ready', leading: worker.leadership.leading } satisfies RoleReady);
  await untilStop();
  await worker.close();
}

process.once('message', (job: ClusterRole) => {
  (job.role === 'auth' ? runAuth(job) : runWorker(job)).then(
    () => process.disconnect(),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});
