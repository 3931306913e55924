// Durations on the command line: a whole number with a unit, s, m, h or d (`30s`, `15m`, `1h`).
import { UsageError, type CommandInput } from './command.js';

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3_600, d: 86_400 };

export function parseDurationSeconds(text: string): number | null {
  const match = /^([1-9][0-9]{0,6})([smhd])$/.exec(text);
  if (match === null) return null;
  return Number(match[1]) * (UNIT_SECONDS[match[2] as string] as number);
}

/** A duration flag in seconds, or null when absent. */
export function durationSecondsOption(input: CommandInput, flag: string): number | null {
  const value = input.values[flag];
  if (value === undefined) return null;
  const seconds = typeof value === 'string' ? parseDurationSeconds(value) : null;
  if (seconds === null) throw new UsageError(`--${flag} must be a whole number with a unit s, m, h or d (e.g. 15m)`);
  return seconds;
}
