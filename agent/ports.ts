// What the agent takes from the outside world, injected so the simulator can run fleets of
// agents deterministically from a seed, and tests can move time.
import { randomBytes } from 'node:crypto';
import type { RandomBytes } from '../shared/ids.js';

export interface Clock {
  nowMs(): number;
}

/** The subset of a pino logger the agent uses; pino itself is created at the edges (CLI). */
export interface AgentLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export const systemClock: Clock = { nowMs: () => Date.now() };
export const systemRandom: RandomBytes = (length) => new Uint8Array(randomBytes(length));

const ignore = (): void => undefined;
export const silentLogger: AgentLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };

