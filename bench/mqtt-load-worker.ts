// Load generator, in a child process (forked by broker.bench.ts) so that the bench process's own
// CPU time is the broker's alone: publishes prepared payloads at QoS 1 and counts the messages
// its clients receive. Used for both the raw aedes relay and the mqpay voucher path, so the two
// are measured the same way. Protocol on the IPC channel: job in, 'ready' out, 'go' in, 'done' out
// (with the elapsed time and this process's CPU time while it ran). Payloads are text or bytes;
// `qos` is a publisher's QoS (default 1; the tick bench publishes at 0).
import mqtt from 'mqtt';

/**
 * `url`: this client's broker, else the job's (the cluster bench spreads clients over its nodes).
 * `countReplies: false`: what it receives does not count towards `expectReplies` (the cluster
 * bench ends at the payers' verdicts; the payees' forwards are read but not waited for).
 */
interface Publisher { url?: string; countReplies?: boolean; clientId: string; username?: string; password?: number[]; topic: string; payloads: (string | Uint8Array)[]; replyTopic: string | null; replyQos: 0 | 1; qos?: 0 | 1 }
/**
 * `endMarkers` (hex): the run ends once a reply starting with each was received, instead of at
 * `expectReplies` (ticks: the service answers a batch with one verdict). `tallyPrefix` (hex):
 * counted replies starting with it are tallied (the cluster bench: verdicts that accept).
 */
interface Job { url: string; publishers: Publisher[]; expectReplies: number; endMarkers?: string[]; tallyPrefix?: string }

function send(message: object): void {
  process.send?.(message);
}

async function connect(url: string, options: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  const client = mqtt.connect(url, { protocolVersion: 4, clean: true, reconnectPeriod: 0, keepalive: 60, ...options });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

async function run(job: Job): Promise<void> {
  const clients = await Promise.all(job.publishers.map((p) => connect(p.url ?? job.url, { clientId: p.clientId, ...(p.username === undefined ? {} : { username: p.username }), ...(p.password === undefined ? {} : { password: Buffer.from(p.password) as unknown as string }) })));
  let received = 0;
  let tallied = 0;
  const tally = job.tallyPrefix === undefined ? null : Buffer.from(job.tallyPrefix, 'hex');
  const markers = (job.endMarkers ?? []).map((hex) => Buffer.from(hex, 'hex'));
  const seen = markers.map(() => false);
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  await Promise.all(clients.map((client, i) => new Promise<void>((resolve) => {
    client.on('message', (_topic, payload) => {
      if (job.publishers[i]?.countReplies === false) return;
      received += 1;
      if (tally !== null && payload.subarray(0, tally.length).equals(tally)) tallied += 1;
      if (markers.length === 0) {
        if (received === job.expectReplies) done();
        return;
      }
      markers.forEach((marker, m) => {
        if (payload.subarray(0, marker.length).equals(marker)) seen[m] = true;
      });
      if (seen.every(Boolean)) done();
    });
    const publisher = job.publishers[i];
    if (publisher?.replyTopic == null) resolve();
    else client.subscribe(publisher.replyTopic, { qos: publisher.replyQos }, () => resolve());
  })));
  send({ type: 'ready' });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  const startedNs = process.hrtime.bigint();
  const startedCpu = process.cpuUsage();
  clients.forEach((client, i) => {
    for (const payload of job.publishers[i]?.payloads ?? []) client.publish(job.publishers[i]?.topic ?? '', typeof payload === 'string' ? payload : Buffer.from(payload), { qos: job.publishers[i]?.qos ?? 1 });
  });
  await finished;
  const elapsedMs = Number(process.hrtime.bigint() - startedNs) / 1e6;
  const cpu = process.cpuUsage(startedCpu);
  send({ type: 'done', received, tallied, elapsedMs, cpuUs: cpu.user + cpu.system });
  await Promise.all(clients.map((client) => client.endAsync()));
  process.disconnect();
}

process.once('message', (job: Job) => {
  run(job).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
});
