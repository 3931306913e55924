// Load generator, in a worker thread so it runs on the other core: publishes prepared payloads
// at QoS 1 and counts the messages a subscriber receives. Used for both the raw aedes relay and
// the mqpay voucher path, so the two are measured the same way. Payloads are text or bytes (the
// binary tick frames); `qos` is the publishers' QoS (default 1).
import { parentPort, workerData } from 'node:worker_threads';
import mqtt from 'mqtt';

interface Publisher { clientId: string; username?: string; password?: number[]; topic: string; payloads: (string | Uint8Array)[]; replyTopic: string }
/** `endMarkers` (hex): the run ends once a reply starting with each was received, instead of at `expectReplies` (ticks: the service answers a batch with one verdict). */
interface Job { url: string; publishers: Publisher[]; expectReplies: number; replyMatch: string; qos?: 0 | 1; endMarkers?: string[] }

const job = workerData as Job;

async function connect(options: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  const client = mqtt.connect(job.url, { protocolVersion: 4, clean: true, reconnectPeriod: 0, keepalive: 60, ...options });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

const clients = await Promise.all(job.publishers.map((p) => connect({ clientId: p.clientId, ...(p.username === undefined ? {} : { username: p.username }), ...(p.password === undefined ? {} : { password: Buffer.from(p.password) as unknown as string }) })));
let received = 0;
const markers = (job.endMarkers ?? []).map((hex) => Buffer.from(hex, 'hex'));
const seen = markers.map(() => false);
let done: () => void = () => undefined;
const finished = new Promise<void>((resolve) => (done = resolve));
await Promise.all(clients.map((client, i) => new Promise<void>((resolve) => {
  client.on('message', (_topic, payload) => {
    if (job.replyMatch === '' || payload.includes(job.replyMatch)) received += 1;
    if (markers.length > 0) {
      for (let m = 0; m < markers.length; m++) if (!seen[m] && payload.subarray(0, markers[m]?.length).equals(markers[m] as Buffer)) seen[m] = true;
      if (seen.every(Boolean)) done();
    } else if (received === job.expectReplies) done();
  });
  client.subscribe(job.publishers[i]?.replyTopic ?? '#', { qos: 1 }, () => resolve());
})));
parentPort?.postMessage({ type: 'ready' });
await new Promise<void>((resolve) => parentPort?.once('message', () => resolve()));
const startedNs = process.hrtime.bigint();
clients.forEach((client, i) => {
  for (const payload of job.publishers[i]?.payloads ?? []) client.publish(job.publishers[i]?.topic ?? '', typeof payload === 'string' ? payload : Buffer.from(payload), { qos: job.qos ?? 1 });
});
await finished;
const elapsedMs = Number(process.hrtime.bigint() - startedNs) / 1e6;
parentPort?.postMessage({ type: 'done', received, elapsedMs });
await Promise.all(clients.map((client) => client.endAsync()));
