// `mqpay broker`: runs the MQTT host and settlement service until told to stop (SIGINT/SIGTERM
// in the bin).
import { mkdirSync } from 'node:fs';
import { parseAmount } from '../shared/amount.js';
import { integerOption, requirePath, requireString, type Command } from '../cli/command.js';
import { createBrokerApp, systemRandom } from './app.js';
import { CLOSE_WINDOW_SECONDS_DEFAULT, CLOSE_WINDOW_SECONDS_MAX, EPOCH_SECONDS_DEFAULT, FEE_PPM_MAX } from './limits.js';
import { operatorHttpHandler } from './operator/http/operator-api.js';
import { resolveOperatorToken } from './operator/operator-token.js';

export const brokerCommand: Command = {
  name: ['broker'],
  summary: 'run the MQTT broker and settlement service',
  positionals: [],
  options: {
    data: { type: 'string', description: 'data directory (SQLite ledger, service key)' },
    host: { type: 'string', description: 'address to listen on', default: '127.0.0.1' },
    'mqtt-port': { type: 'string', description: 'MQTT TCP port', default: '1883' },
    'http-port': { type: 'string', description: 'HTTP port (operator API and dashboard, /metrics, MQTT over WebSocket at /mqtt)' },
    'epoch-seconds': { type: 'string', description: 'seconds between settlement epochs', default: String(EPOCH_SECONDS_DEFAULT) },
    'settle-threshold': { type: 'string', description: 'settle a channel early once this amount is unsettled (e.g. 5)' },
    'fee-ppm': { type: 'string', description: 'operator fee in parts per million of each settlement', default: '0' },
    'close-window-seconds': { type: 'string', description: 'dispute window of a payer\'s, operator\'s or expiry\'s close (0 settles at once)', default: String(CLOSE_WINDOW_SECONDS_DEFAULT) },
    'broker-id': { type: 'string', description: 'broker id that connect tokens must name', default: 'mqpay' },
    'operator-token': { type: 'string', description: 'operator token (else $MQPAY_OPERATOR_TOKEN, else DATA/operator.token)' },
    'log-level': { type: 'string', description: 'fatal|error|warn|info|debug|silent', default: 'info' },
  },
  async run(input) {
    const dataDir = requirePath(input, 'data');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const threshold = input.values['settle-threshold'];
    const app = await createBrokerApp({
      dataDir,
      host: requireString(input, 'host'),
      mqttPort: integerOption(input, 'mqtt-port', 0, 65535) ?? 1883,
      httpPort: integerOption(input, 'http-port', 0, 65535) ?? null,
      epochSeconds: integerOption(input, 'epoch-seconds', 1, 86_400) ?? EPOCH_SECONDS_DEFAULT,
      settleThresholdMicro: typeof threshold === 'string' ? parseAmount(threshold) : 0n,
      feePpm: integerOption(input, 'fee-ppm', 0, FEE_PPM_MAX) ?? 0,
      closeWindowSeconds: integerOption(input, 'close-window-seconds', 0, CLOSE_WINDOW_SECONDS_MAX) ?? CLOSE_WINDOW_SECONDS_DEFAULT,
      brokerId: requireString(input, 'broker-id'),
      operatorToken: resolveOperatorToken(dataDir, input.values['operator-token'] as string | undefined, input.io.env.MQPAY_OPERATOR_TOKEN, systemRandom),
      logLevel: requireString(input, 'log-level') as never,
    }, { httpHandler: operatorHttpHandler() });
    const { mqttPort, httpPort } = await app.listen();
    input.stdout(`mqpay broker "${app.config.brokerId}" listening: mqtt://${app.config.host}:${mqttPort}${httpPort === null ? '' : `, http://${app.config.host}:${httpPort} (MQTT over WebSocket at /mqtt)`}`);
    if (httpPort !== null) input.stdout(`dashboard: http://${app.config.host}:${httpPort}/  API: /api (OpenAPI at /api/openapi.json)  metrics: /metrics`);
    input.stdout(`service public key: ${app.servicePublicKeyHex}`);
    input.stdout(`data: ${dataDir}; settlement every ${app.config.epochSeconds} s; close window ${app.config.closeWindowSeconds} s`);
    await input.io.untilStopped();
    await app.close();
    input.stdout('broker stopped; ledger flushed');
    return 0;
  },
};
