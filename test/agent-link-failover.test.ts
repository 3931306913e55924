// An agent given several broker URLs (a cluster's nodes, comma-separated) fails over along them:
// a first URL nobody listens on is passed over at start, and when the node it is connected
// through goes away (a proxy in front of the broker, closed: its connections cut, its port
// refusing), the agent reconnects through the next one and goes on paying on the same channel.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseBrokerUrls } from '../agent/link/link-stream.js';
import { MqpayError } from '../shared/errors.js';
import { FaultProxy } from '../simulator/world/fault-proxy.js';
import { AgentBed, freePort, NETWORK_POLL } from './helpers/agent-fixture.js';
import { startBroker, type RunningBroker } from './helpers/broker-fixture.js';

describe('agent link: failover over a list of broker URLs', () => {
  let broker: RunningBroker;
  let bed: AgentBed;
  const proxies: FaultProxy[] = [];
  beforeEach(async () => {
    broker = await startBroker();
    bed = new AgentBed(broker);
  });
  afterEach(async () => {
    await bed.cleanup();
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
    await broker.stop();
  });

  async function node(): Promise<{ proxy: FaultProxy; url: string }> {
    const proxy = new FaultProxy(Number(new URL(broker.url).port));
    proxies.push(proxy);
    return { proxy, url: `mqtt://127.0.0.1:${await proxy.listen()}` };
  }

  it('reads every URL of a list and refuses an empty entry or a bad URL', () => {
    expect(parseBrokerUrls('mqtt://a:1, mqtt://b:2').map((address) => `${address.host}:${address.port}`)).toEqual(['a:1', 'b:2']);
    expect(() => parseBrokerUrls('mqtt://a:1,')).toThrow(MqpayError);
    expect(() => parseBrokerUrls('mqtt://a:1,http://b:2')).toThrow(/mqtt:\/\//);
  });

  it('passes over a URL nobody listens on, and moves to the next node when its node goes away', async () => {
    const [a, b] = [await node(), await node()];
    const nobody = `mqtt://127.0.0.1:${await freePort()}`;
    await bed.agent('charger-1');
    const car = await bed.agent('car-1', { funds: '10', config: { channel: { deposit: '2' } }, agent: { brokerUrl: `${nobody},${a.url},${b.url}` } });
    const first = await car.pay('charger-1', '0.25');
    expect(a.proxy.connections).toBe(1);
    expect(b.proxy.connections).toBe(0);

    await a.proxy.close(); // node A stops: its connection is cut and its port refuses
    await expect.poll(() => b.proxy.connections, NETWORK_POLL).toBe(1);
    const second = await car.pay('charger-1', '0.25');
    expect(second).toMatchObject({ channel: first.channel, seq: 2n, total: 500_000n });
  });
});
