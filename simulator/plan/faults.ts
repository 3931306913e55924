// The seeded fault schedule: broker kills (SIGKILL, then a restart on the same data directory
// and port after a short outage), dropped device connections, and the rogue devices' attacks.
// Everything is a lazy sequence, so an endless demo and a 60-second run draw the same numbers.
import type { Prng } from './prng.js';

export interface BrokerKill {
  readonly atMs: number;
  /** How long the broker stays down before it is started again. */
  readonly outageMs: number;
}

export interface Drop {
  readonly atMs: number;
  readonly device: string;
}

export const ATTACK_KINDS = [
  'forged-signature', 'forged-channel', 'replayed-voucher', 'replayed-old-voucher', 'double-signed',
  'above-deposit', 'overdraft-open', 'impersonation', 'acl-publish', 'acl-subscribe',
] as const;
export type AttackKind = (typeof ATTACK_KINDS)[number];

export interface PlannedAttack {
  readonly atMs: number;
  readonly kind: AttackKind;
}

const OUTAGE_MS = { min: 300, max: 1_500 } as const;
const ATTACK_GAP_MS = { min: 600, max: 5_000, perRun: 12 } as const;
const FIRST_ATTACK_MS = { min: 1_500, max: 3_000 } as const;

export function* brokerKills(rng: Prng, everySeconds: number | null): Generator<BrokerKill, void, void> {
  if (everySeconds === null || everySeconds <= 0) return;
  for (let k = 1; ; k++) yield { atMs: k * everySeconds * 1000, outageMs: rng.int(OUTAGE_MS.min, OUTAGE_MS.max) };
}

/** The drops in second `second` of the run: each device independently with probability `rate`. */
export function dropsInSecond(rng: Prng, second: number, devices: readonly string[], rate: number): Drop[] {
  if (rate <= 0) return [];
  const draw = rng.fork(`drops:${second}`);
  const drops: Drop[] = [];
  for (const device of devices) {
    if (draw.chance(rate)) drops.push({ atMs: second * 1000 + draw.int(0, 999), device });
  }
  return drops.sort((a, b) => a.atMs - b.atMs);
}

/** A rogue's attacks: every kind once per round, in a fresh seeded order each round. */
export function* attackSchedule(rng: Prng, durationMs: number): Generator<PlannedAttack, void, void> {
  const meanGap = Math.min(ATTACK_GAP_MS.max, Math.max(ATTACK_GAP_MS.min, Math.floor(durationMs / ATTACK_GAP_MS.perRun)));
  let atMs = rng.int(FIRST_ATTACK_MS.min, FIRST_ATTACK_MS.max);
  for (;;) {
    for (const kind of rng.shuffle(ATTACK_KINDS)) {
      yield { atMs, kind };
      atMs += rng.int(Math.ceil(meanGap * 0.7), Math.ceil(meanGap * 1.3));
    }
  }
}
