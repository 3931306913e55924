// Agent test bed: agent homes in temporary directories, enrolled (and funded) on a real
// in-process broker, and real agents connected to it. Nothing is mocked.
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { createAgent, type CreateAgentOptions } from '../../agent/agent.js';
import type { Agent } from '../../agent/agent-api.js';
import type { AgentConfigInput } from '../../agent/home/config.js';
import { initAgentHome } from '../../agent/home/home.js';
import { addDevice } from '../../broker/store/sqlite/devices.js';
import { fundWallet } from '../../broker/store/sqlite/ledger.js';
import { parseAmount } from '../../shared/amount.js';
import { toHex } from '../../shared/hex.js';
import { random, startBroker, tempDir, type RunningBroker } from './broker-fixture.js';
import { freePort } from './child-broker.js';

/** Fast timings for tests: a lost answer is retried in a fifth of a second, not two. */
export const TEST_AGENT_TIMING = {
  requestTimeoutMs: 3_000,
  paymentTimeoutMs: 5_000,
  resendIntervalMs: 200,
  reconnectPeriodMs: 50,
  reconnectPeriodMaxMs: 400,
  connectWaitMs: 3_000,
} as const;

export interface HomeOptions {
  readonly funds?: string;
  readonly config?: Partial<AgentConfigInput>;
  /** Leave the service key unpinned (trust on first use). */
  readonly unpinned?: boolean;
}

export class AgentBed {
  private readonly dir = tempDir('mqpay-agent-');
  private readonly agents: Agent[] = [];

  constructor(readonly broker: RunningBroker) {}

  /** Creates and enrols an agent home; returns its path. */
  home(device: string, options: HomeOptions = {}): string {
    const path = join(this.dir.path, device);
    const config: AgentConfigInput = {
      v: 1, device, brokerId: this.broker.app.config.brokerId,
      ...(options.unpinned === true ? {} : { servicePublicKey: this.broker.app.servicePublicKeyHex }),
      ...options.config,
    };
    const home = initAgentHome({ home: path, config, random });
    addDevice(this.broker.app.db, device, home.keys.publicKey, Date.now());
    if (options.funds !== undefined) fundWallet(this.broker.app.db, device, parseAmount(options.funds), `${device}:${toHex(random(8))}`, Date.now());
    return path;
  }

  async start(home: string, options: Partial<CreateAgentOptions> = {}): Promise<Agent> {
    const agent = await createAgent({ home, brokerUrl: this.broker.url, ...TEST_AGENT_TIMING, ...options });
    this.agents.push(agent);
    return agent;
  }

  /** A home plus a started agent. */
  async agent(device: string, options: HomeOptions & { agent?: Partial<CreateAgentOptions> } = {}): Promise<Agent> {
    return this.start(this.home(device, options), options.agent);
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.agents.map((agent) => agent.stop().catch(() => undefined)));
    this.dir.remove();
  }
}

/** A broker and an agent bed, fresh for each test of the describe block it is called in (registers the hooks). */
export function agentBedPerTest(): { readonly broker: () => RunningBroker; readonly bed: () => AgentBed } {
  let broker: RunningBroker | null = null;
  let bed: AgentBed | null = null;
  beforeEach(async () => {
    broker = await startBroker();
    bed = new AgentBed(broker);
  });
  afterEach(async () => {
    await bed?.cleanup();
    await broker?.stop();
  });
  const present = <T>(value: T | null): T => {
    if (value === null) throw new Error('agentBedPerTest: used outside a test');
    return value;
  };
  return { broker: () => present(broker), bed: () => present(bed) };
}

export { freePort } from './child-broker.js';

/** What restartableBedPerTest hands a test. */
export interface RestartableBed {
  /** Starts the broker (again, after a stop) on the test's own data directory and port; the first start makes the bed. */
  start(): Promise<RunningBroker>;
  /** The broker last started. */
  readonly broker: () => RunningBroker;
  readonly bed: () => AgentBed;
}

/**
 * A broker a test may stop and start again on the same port and data directory (an outage, a
 * ledger restored from a backup), with an agent bed whose agents reconnect to it; after each test
 * the agents and the broker are stopped and the directory removed (registers the hooks).
 */
export function restartableBedPerTest(): RestartableBed {
  let dir: { path: string; remove: () => void } | null = null;
  let port = 0;
  let broker: RunningBroker | null = null;
  let bed: AgentBed | null = null;
  beforeEach(async () => {
    dir = tempDir('mqpay-broker-');
    port = await freePort();
  });
  afterEach(async () => {
    await bed?.cleanup();
    await broker?.stop();
    dir?.remove();
    [broker, bed, dir] = [null, null, null];
  });
  return {
    async start() {
      if (dir === null) throw new Error('restartableBedPerTest: used outside a test');
      broker = await startBroker({ mqttPort: port }, dir.path);
      bed ??= new AgentBed(broker);
      return broker;
    },
    broker: () => {
      if (broker === null) throw new Error('restartableBedPerTest: no broker started');
      return broker;
    },
    bed: () => {
      if (bed === null) throw new Error('restartableBedPerTest: no broker started');
      return bed;
    },
  };
}

/** For expect.poll on things that cross the network: generous, since CI machines are shared. */
export const NETWORK_POLL = { timeout: 10_000, interval: 20 } as const;
