// Before the broker starts: an agent home per honest device (key, agent.json pinned to the
// service key, empty state), a key per rogue device, every device enrolled in the broker's
// ledger and its wallet funded, all in one transaction. The simulator records what it funded:
// the conservation check compares the ledger against it.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { initAgentHome } from '../../agent/home/home.js';
import type { AgentConfigInput } from '../../agent/home/config.js';
import { loadOrCreateServiceKey } from '../../broker/service-key.js';
import { addDevice } from '../../broker/store/sqlite/devices.js';
import { fundWallet } from '../../broker/store/sqlite/ledger.js';
import { openDatabase } from '../../broker/store/sqlite/open-database.js';
import { formatAmount, type Amount } from '../../shared/amount.js';
import { toHex } from '../../shared/hex.js';
import type { RandomBytes } from '../../shared/ids.js';
import { generateKeyPair, type KeyPair } from '../../shared/keys.js';
import type { DevicePlan } from '../plan/fleet.js';

/** The largest single payment an honest buyer's spending policy allows. */
export const BUYER_MAX_PER_PAYMENT = '25';

export interface Enrolment {
  readonly servicePublicKey: string;
  /** Honest device id -> its agent home. */
  readonly homes: ReadonlyMap<string, string>;
  readonly rogueKeys: ReadonlyMap<string, KeyPair>;
  /** Device id -> money moved into its wallet from outside. */
  readonly funded: Map<string, Amount>;
}

/** The simulator needs a ledger of its own: refuse a data directory that already holds one. */
export function checkFreshDataDir(dataDir: string): void {
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) throw new Error(`--data ${dataDir} is not empty; the simulator needs a fresh directory`);
}

function agentConfig(device: DevicePlan, brokerId: string, servicePublicKey: string): AgentConfigInput {
  const base = { v: 1 as const, device: device.id, brokerId, servicePublicKey };
  if (device.role !== 'buyer') return base;
  return {
    ...base,
    channel: { deposit: formatAmount(device.deposit), topupBelow: formatAmount(device.topupBelow) },
    policy: { maxPerPayment: BUYER_MAX_PER_PAYMENT },
  };
}

export interface DeviceKeys {
  readonly homes: Map<string, string>;
  readonly rogueKeys: Map<string, KeyPair>;
  readonly publicKeys: Map<string, Uint8Array>;
}

/** An agent home per honest device and a key per rogue: what either ledger then enrols. */
export function createDeviceKeys(input: { agentsDir: string; devices: readonly DevicePlan[]; brokerId: string; servicePublicKey: string; random: RandomBytes }): DeviceKeys {
  const keys: DeviceKeys = { homes: new Map(), rogueKeys: new Map(), publicKeys: new Map() };
  for (const device of input.devices) {
    if (device.role === 'rogue') {
      const pair = generateKeyPair(input.random);
      keys.rogueKeys.set(device.id, pair);
      keys.publicKeys.set(device.id, pair.publicKey);
      continue;
    }
    const home = join(input.agentsDir, device.id);
    const created = initAgentHome({ home, config: agentConfig(device, input.brokerId, input.servicePublicKey), random: input.random });
    keys.homes.set(device.id, home);
    keys.publicKeys.set(device.id, created.keys.publicKey);
  }
  return keys;
}

/** The idempotency key of a device's one funding by the simulator. */
export const fundingKeyOf = (device: string): string => `sim:${device}:initial`;

export function enrolFleet(input: { dataDir: string; agentsDir: string; devices: readonly DevicePlan[]; brokerId: string; random: RandomBytes; nowMs: number }): Enrolment {
  const servicePublicKey = toHex(loadOrCreateServiceKey(input.dataDir, input.random).publicKey);
  const { homes, rogueKeys, publicKeys } = createDeviceKeys({ ...input, servicePublicKey });
  const funded = new Map<string, Amount>();
  const db = openDatabase(input.dataDir);
  try {
    db.transaction(() => {
      for (const device of input.devices) {
        addDevice(db, device.id, publicKeys.get(device.id) ?? new Uint8Array(), input.nowMs);
        fundWallet(db, device.id, device.funding, fundingKeyOf(device.id), input.nowMs);
        funded.set(device.id, device.funding);
      }
    })();
  } finally {
    db.close();
  }
  return { servicePublicKey, homes, rogueKeys, funded };
}
