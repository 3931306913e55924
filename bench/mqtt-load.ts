// What the broker benches share: the load generator (a worker thread on the other core) and the
// raw aedes relay each mqpay figure is a ratio to, measured in the same run.
import { createServer } from 'node:net';
import { Worker } from 'node:worker_threads';
import { Aedes } from 'aedes';

export function runLoad(job: object): Promise<{ received: number; elapsedMs: number }> {
  const worker = new Worker(new URL('./mqtt-load-worker.mjs', import.meta.url), { workerData: job });
  return new Promise((resolve, reject) => {
    worker.on('message', (message: { type: string; received: number; elapsedMs: number }) => {
      if (message.type === 'ready') worker.postMessage('go');
      else resolve(message);
    });
    worker.on('error', reject);
  });
}

/** Messages per second through a bare aedes: `publishers` clients each publish to a topic they subscribe to (one in, one out). */
export async function rawRelay(payloadSize: number, total: number, publishers: number, qos: 0 | 1 = 1): Promise<number> {
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const payload = 'x'.repeat(payloadSize);
  const per = total / publishers;
  const jobs = Array.from({ length: publishers }, (_, i) => ({ clientId: `raw-${i}`, topic: `bench/relay/${i}`, replyTopic: `bench/relay/${i}`, payloads: Array.from({ length: per }, () => payload) }));
  const result = await runLoad({ url: `mqtt://127.0.0.1:${port}`, publishers: jobs, expectReplies: total, replyMatch: '', qos });
  server.close();
  await new Promise<void>((resolve) => aedes.close(() => resolve()));
  return (result.received / result.elapsedMs) * 1000;
}
