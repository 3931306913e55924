// `mqpay cluster auth`: the HTTP auth backend of a RabbitMQ cluster (auth-server.ts). Devices and
// operators that log in to any node are checked here against the shared store: the same token
// check and ACL as the embedded broker. Runs until stopped (SIGINT/SIGTERM in the bin).
import { existsSync } from 'node:fs';
import { integerOption, requireString, UsageError, type Command } from '../../../cli/command.js';
import { createLogger, systemClock } from '../../app.js';
import { Telemetry } from '../../service/telemetry.js';
import { openStore, sqliteFileOf, storeKindOf } from '../../store/open-store.js';
import { storeLogins } from './store-logins.js';
import { startAuthServer } from './auth-server.js';

const OPERATOR_TOKEN_LENGTH_MIN = 16;

function operatorTokenOf(explicit: unknown, fromEnv: string | undefined): string {
  const token = typeof explicit === 'string' && explicit !== '' ? explicit : fromEnv ?? '';
  if (token.length < OPERATOR_TOKEN_LENGTH_MIN) throw new UsageError(`--operator-token (or $MQPAY_OPERATOR_TOKEN) is required, at least ${OPERATOR_TOKEN_LENGTH_MIN} characters`);
  return token;
}

/** The auth service reads an existing ledger; it never creates one. */
function checkStoreExists(url: string): void {
  if (storeKindOf(url) === 'sqlite' && !existsSync(sqliteFileOf(url))) throw new UsageError(`no ledger at ${sqliteFileOf(url)} (create it with mqpay ledger init, or give --store postgres://...)`);
}

export const clusterAuthCommand: Command = {
  name: ['cluster', 'auth'],
  summary: 'serve the HTTP auth backend of a RabbitMQ cluster: mqpay\'s connect-token check and ACL for devices and operators logging in to any node',
  positionals: [],
  options: {
    store: { type: 'string', description: 'the shared ledger: postgres://... or a SQLite file (sqlite:PATH, or a data directory)' },
    port: { type: 'string', description: 'port to listen on (0 picks a free one; RabbitMQ\'s auth_http.*_path must point at it)', default: '0' },
    host: { type: 'string', description: 'address to listen on (RabbitMQ sends no credentials of its own: keep it private)', default: '127.0.0.1' },
    'operator-token': { type: 'string', description: 'the operator token operators log in with (else $MQPAY_OPERATOR_TOKEN)' },
    'broker-id': { type: 'string', description: 'broker id that connect tokens must name', default: 'mqpay' },
    'offers-wildcard': { type: 'boolean', description: 'let devices subscribe to every seller\'s offers at once (mqpay/v1/offers/+)' },
    'log-level': { type: 'string', description: 'fatal|error|warn|info|debug|silent', default: 'info' },
  },
  async run(input) {
    const storeUrl = requireString(input, 'store');
    const port = integerOption(input, 'port', 0, 65_535) ?? 0;
    const operatorToken = operatorTokenOf(input.values['operator-token'], input.io.env.MQPAY_OPERATOR_TOKEN);
    checkStoreExists(storeUrl);
    const logger = createLogger(input.values['log-level'] as string, 'mqpay-cluster-auth');
    const telemetry = new Telemetry();
    const opened = await openStore(storeUrl);
    try {
      const deps = {
        service: storeLogins(opened.store, telemetry, logger), clock: systemClock, telemetry, logger,
        brokerId: input.values['broker-id'] as string, operatorToken, offersWildcard: input.values['offers-wildcard'] === true,
      };
      const server = await startAuthServer(deps, { port, host: input.values.host as string });
      input.stdout(`mqpay cluster auth listening: ${server.baseUrl} (store: ${opened.kind})`);
      await input.io.untilStopped();
      await server.close();
      input.stdout(`cluster auth stopped; ${telemetry.authFailures} logins refused, ${telemetry.aclViolations} ACL violations`);
      return 0;
    } finally {
      await opened.close();
    }
  },
};
