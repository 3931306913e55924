import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import mqtt from 'mqtt';
import { startRabbitCluster } from './broker/cluster/rabbitmq/rabbit-cluster.js';
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    console.log(req.method, req.url, req.headers['content-type'], JSON.stringify(body.toString('latin1')));
    res.end('allow');
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as any).port;
const dir = mkdtempSync('/tmp/rabbit-probe-');
const cluster = await startRabbitCluster({ dir, authBaseUrl: `http://127.0.0.1:${port}/auth`, nodes: 1 });
try {
  const password = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const client = mqtt.connect(cluster.nodes[0].mqttUrl, { clientId: 'dev.1', username: 'dev.1', password, reconnectPeriod: 0, clean: false, protocolVersion: 4 });
  await new Promise((r, j) => { client.once('connect', r); client.once('error', j); });
  console.log('connected');
  await client.subscribeAsync('mqpay/v1/d/dev.1/in/#', { qos: 1 });
  await client.subscribeAsync('mqpay/v1/d/dev.1/in/+', { qos: 1 });
  await client.publishAsync('mqpay/v1/d/dev.1/out/voucher-bin', 'x', { qos: 1 });
  await client.endAsync();
  console.log('---- done');
} catch (e) { console.log('ERR', e); }
finally { await cluster.stop(); server.close(); }
