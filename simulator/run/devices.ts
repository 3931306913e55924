// The devices of a run: the honest fleet of real agents and the rogues with their raw links
// (and, once the run starts, a runner per rogue).
import { HonestFleet } from '../actors/honest-fleet.js';
import type { SimMetrics } from '../actors/metrics.js';
import { RogueDevice } from '../actors/rogue-device.js';
import type { AttackOutcome } from '../attacks/attack.js';
import type { RogueRunner } from '../attacks/rogue-runner.js';
import type { SimPlan } from '../plan/plan.js';
import { SIM_BROKER_ID, type World } from '../world/sim-world.js';
import type { SimIo } from './sim-io.js';

/** How long rogues may take to connect at the start. */
const ROGUE_CONNECT_WAIT_MS = 10_000;

export interface Devices {
  readonly fleet: HonestFleet;
  readonly rogues: RogueDevice[];
  runners: RogueRunner[];
}

export async function startDevices(world: World, plan: SimPlan, metrics: SimMetrics, io: SimIo): Promise<Devices> {
  const fleet = new HonestFleet(metrics);
  await fleet.start(world.enrolment, (device) => world.agentUrl(device), SIM_BROKER_ID);
  const rogues = plan.fleet.devices.flatMap((device) => {
    const keys = world.enrolment.rogueKeys.get(device.id);
    if (device.role !== 'rogue' || keys === undefined) return [];
    return [RogueDevice.open({ plan: device, keys, url: world.brokerUrl, brokerId: SIM_BROKER_ID, clock: io.clock, random: io.random })];
  });
  await Promise.all(rogues.map((rogue) => rogue.link.whenConnected(ROGUE_CONNECT_WAIT_MS)));
  return { fleet, rogues, runners: [] };
}

export const outcomesOf = (devices: Devices): AttackOutcome[] => devices.runners.flatMap((runner) => runner.outcomes);

export async function stopDevices(devices: Devices | null): Promise<void> {
  if (devices === null) return;
  await devices.fleet.stop().catch(() => undefined);
  await Promise.all(devices.rogues.map((rogue) => rogue.close().catch(() => undefined)));
}
