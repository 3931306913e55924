// `mqpay worker`: one settlement worker of a RabbitMQ cluster [issue 15]. It consumes the device
// outboxes over AMQP, settles into the shared store and answers through amq.topic until told to
// stop (SIGINT/SIGTERM in the bin), then finishes what it holds: every message it took is
// committed and acknowledged, or left to RabbitMQ for the next worker.
import { integerOption, requirePath, requireString, UsageError, type Command, type CommandInput } from '../../../cli/command.js';
import type { BrokerConfig } from '../../config.js';
import { OUTBOX_PARTITIONS_DEFAULT, OUTBOX_PREFETCH_DEFAULT } from '../../limits.js';
import { storeKindOf } from '../../store/open-store.js';
import { startClusterWorker } from './worker.js';

const PARTITIONS_MAX = 1_024;
const PREFETCH_MAX = 65_535;
const EPOCH_SECONDS_MAX = 86_400;
const PORT_MAX = 65_535;

function amqpUrlsOf(text: string): string[] {
  const urls = text.split(',').map((url) => url.trim()).filter((url) => url.length > 0);
  if (urls.length === 0 || urls.some((url) => !/^amqps?:\/\//.test(url))) throw new UsageError('--amqp takes amqp:// URLs, comma-separated (one per RabbitMQ node)');
  return urls;
}

/** --http-port with its token, or null without it. */
function operatorHttpOf(input: CommandInput): { port: number; operatorToken: string; host: string } | null {
  const port = integerOption(input, 'http-port', 0, PORT_MAX);
  if (port === undefined) return null;
  const operatorToken = input.io.env.MQPAY_OPERATOR_TOKEN;
  if (operatorToken === undefined || operatorToken === '') throw new UsageError('--http-port needs the operator token in $MQPAY_OPERATOR_TOKEN (mqpay cluster up passes it)');
  return { port, operatorToken, host: requireString(input, 'http-host') };
}

export const workerCommand: Command = {
  name: ['worker'],
  summary: 'run one settlement worker of a RabbitMQ cluster: consume device outboxes over AMQP, settle into the shared store, answer through amq.topic',
  positionals: [],
  options: {
    amqp: { type: 'string', description: 'AMQP URLs of the RabbitMQ nodes, comma-separated; the first that accepts is used, the others when it is lost' },
    store: { type: 'string', description: 'the shared ledger: a postgres:// URL, or a SQLite file or data directory (workers on one machine)' },
    'service-key': { type: 'string', description: 'file with the service key every process of the cluster shares (created if absent)' },
    partitions: { type: 'string', description: 'outbox partitions (quorum queues); the same for every worker of a cluster', default: String(OUTBOX_PARTITIONS_DEFAULT) },
    prefetch: { type: 'string', description: 'unacknowledged messages held per partition (each is acknowledged after its commit)', default: String(OUTBOX_PREFETCH_DEFAULT) },
    id: { type: 'string', description: 'this worker\'s name in logs and in RabbitMQ\'s connection list', default: 'worker' },
    leader: { type: 'boolean', description: 'with a SQLite store: run settlement epochs and the offer sweep here (one worker); over PostgreSQL the workers take the lead by a lock' },
    'http-port': { type: 'string', description: 'serve the operator API and dashboard over the shared ledger on this port (0: a free one), token from $MQPAY_OPERATOR_TOKEN' },
    'http-host': { type: 'string', description: 'address of the operator API (the token is its only guard, and it has no TLS: keep it private)', default: '127.0.0.1' },
    'epoch-seconds': { type: 'string', description: 'seconds between settlement epochs (the leader)' },
    'log-level': { type: 'string', description: 'fatal, error, warn, info, debug, trace or silent', default: 'info' },
  },
  async run(input) {
    const epochSeconds = integerOption(input, 'epoch-seconds', 1, EPOCH_SECONDS_MAX);
    const storeUrl = requireString(input, 'store');
    const partitions = integerOption(input, 'partitions', 1, PARTITIONS_MAX) ?? OUTBOX_PARTITIONS_DEFAULT;
    const id = requireString(input, 'id');
    const operatorHttp = operatorHttpOf(input);
    const worker = await startClusterWorker({
      amqpUrls: amqpUrlsOf(requireString(input, 'amqp')),
      storeUrl: storeKindOf(storeUrl) === 'postgres' || storeUrl.startsWith('sqlite:') ? storeUrl : requirePath(input, 'store'),
      serviceKeyFile: requirePath(input, 'service-key'),
      partitions,
      prefetch: integerOption(input, 'prefetch', 1, PREFETCH_MAX) ?? OUTBOX_PREFETCH_DEFAULT,
      id,
      leader: input.values.leader === true,
      // The log level is checked by the broker's configuration schema (a clear error if unknown).
      ...(operatorHttp === null ? {} : { operatorHttp }),
      settings: { logLevel: requireString(input, 'log-level') as BrokerConfig['logLevel'], ...(epochSeconds === undefined ? {} : { epochSeconds }) },
    });
    const byLock = storeKindOf(storeUrl) === 'postgres';
    const lead = worker.leadership.leading ? (byLock ? ' (settlement leader: holds the PostgreSQL lock)' : ' (settlement leader)') : byLock ? ' (standing by for the settlement lock)' : '';
    input.stdout(`mqpay worker "${id}" consuming ${partitions} partitions${lead}`);
    if (worker.operatorUrl !== null) input.stdout(`operator API and dashboard: ${worker.operatorUrl}/`);
    const reason = await input.io.untilStopped();
    await worker.close();
    input.stdout(`worker stopped (${reason}); ${worker.counts.handled} messages handled, ${worker.counts.redelivered} of them redelivered`);
    return 0;
  },
};
