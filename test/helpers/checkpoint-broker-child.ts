// A broker in a child process whose checkpoint worker runs every INTERVAL_MS (argv: data
// directory, interval), so that a short test sees many complete checkpoints and a tracer
// (strace) can watch the event loop's thread alone: the main thread's tid is the process id.
// Prints `listening PORT`; SIGTERM closes it (its WAL, checkpoint worker and file) and exits.
import { pino } from 'pino';
import { createBrokerApp } from '../../broker/app.js';

const [dataDir, intervalMs] = process.argv.slice(2);
if (dataDir === undefined || intervalMs === undefined) throw new Error('usage: checkpoint-broker-child DATA_DIR INTERVAL_MS');
const app = await createBrokerApp(
  { dataDir, mqttPort: 0, operatorToken: 'checkpoint-child-operator-token', logLevel: 'silent' },
  { logger: pino({ level: 'silent' }), checkpoints: { intervalMs: Number(intervalMs) } },
);
const { mqttPort } = await app.listen();
process.stdout.write(`listening ${mqttPort}\n`);
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
