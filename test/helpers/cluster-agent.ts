// An agent of a cluster test: its home created in `dir`, the device enrolled (and funded) in the
// shared PostgreSQL ledger, and the agent connected to `brokerUrl` (a node's MQTT URL, or several
// separated by commas).
import { join } from 'node:path';
import { createAgent } from '../../agent/agent.js';
import type { Agent } from '../../agent/agent-api.js';
import { initAgentHome } from '../../agent/home/home.js';
import type { PostgresLedger } from '../../broker/store/postgres/open.js';
import { parseAmount } from '../../shared/amount.js';
import type { KeyPair } from '../../shared/keys.js';
import { TEST_AGENT_TIMING } from './agent-fixture.js';
import { random } from './broker-fixture.js';

export interface ClusterAgentSpec {
  readonly ledger: PostgresLedger;
  readonly dir: string;
  readonly brokerId: string;
  readonly device: string;
  readonly brokerUrl: string;
  readonly servicePublicKey: string;
  /** Funded with this much (an amount string) when given. */
  readonly funds?: string;
  readonly deposit: string;
  /** How long a payment may wait for its answer (the agent's default when absent). */
  readonly paymentTimeoutMs?: number;
}

export async function enrolledClusterAgent(spec: ClusterAgentSpec): Promise<{ agent: Agent; keys: KeyPair }> {
  const home = join(spec.dir, `home-${spec.device}`);
  const config = { v: 1, device: spec.device, brokerId: spec.brokerId, servicePublicKey: spec.servicePublicKey, channel: { deposit: spec.deposit } } as const;
  const created = initAgentHome({ home, config, random });
  const { device, funds } = spec;
  await spec.ledger.store.transaction(async (tx) => {
    await tx.addDevice(device, created.keys.publicKey, Date.now());
    if (funds !== undefined) await tx.fund({ device, amount: parseAmount(funds), key: `${device}:funding`, nowMs: Date.now() });
  });
  const timeout = spec.paymentTimeoutMs === undefined ? {} : { paymentTimeoutMs: spec.paymentTimeoutMs };
  return { agent: await createAgent({ home, brokerUrl: spec.brokerUrl, ...TEST_AGENT_TIMING, ...timeout }), keys: created.keys };
}
