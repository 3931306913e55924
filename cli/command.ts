// One `mqpay` command fronts everything. Each area registers its commands as a `Command`
// in its own folder; cli/commands.ts lists them. Arguments are parsed with node:util parseArgs
// so every command gets strict flags and a generated --help.
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MqpayError } from '../shared/errors.js';

export type OptionSpec = { type: 'string' | 'boolean'; description: string; default?: string | boolean; multiple?: boolean };

export interface Command {
  /** Words after `mqpay`, e.g. ['wallet', 'fund']. */
  readonly name: readonly string[];
  readonly summary: string;
  /** Positional arguments, in order, e.g. ['NAME', 'AMOUNT']. */
  readonly positionals: readonly string[];
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Returns the process exit code. */
  run(input: CommandInput): Promise<number>;
}

/** Somewhere text goes: process.stdout and process.stderr fit, and so does a test's buffer. */
export interface TextSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/**
 * Everything a command may touch of its surroundings. The bin passes the process's own; tests
 * pass buffers, an environment of their own and a stop they control, and run `main` in-process.
 * Command code never reads process.stdout/stderr/env or installs signal handlers itself.
 */
export interface CommandIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Relative path flags (--data, --home) resolve against this; default: the process's. */
  readonly cwd?: string;
  /**
   * Resolves (with a reason such as 'SIGTERM') when a long-running command (`broker`,
   * `agent run`, `settlements --watch`) should wind down. Each call waits afresh. Without it
   * those commands run until the process ends.
   */
  readonly untilStopped?: () => Promise<string>;
}

/** CommandIo with its defaults filled in. */
export interface ResolvedIo extends CommandIo {
  readonly cwd: string;
  readonly untilStopped: () => Promise<string>;
}

export interface CommandInput {
  readonly positionals: readonly string[];
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
  /** One line of output (the newline is added). */
  readonly stdout: (line: string) => void;
  /** One line of diagnostics (the newline is added). */
  readonly stderr: (line: string) => void;
  readonly io: ResolvedIo;
}

export class UsageError extends Error {}

export function helpOf(command: Command): string {
  const lines = [`usage: mqpay ${[...command.name, ...command.positionals].join(' ')} [options]`, '', command.summary, ''];
  const rows = Object.entries(command.options).map(([flag, spec]) => {
    const value = spec.type === 'string' ? ` ${flag.toUpperCase().replaceAll('-', '_')}` : '';
    const fallback = spec.default === undefined ? '' : ` (default: ${String(spec.default)})`;
    return { left: `  --${flag}${value}`, right: spec.description + fallback };
  });
  rows.push({ left: '  --help', right: 'show this help' });
  // The description column starts two spaces after the longest flag, so no flag runs into it.
  const width = Math.max(...rows.map((row) => row.left.length)) + 2;
  lines.push('options:', ...rows.map((row) => row.left.padEnd(width) + row.right));
  return lines.join('\n');
}

export function parseCommandArgs(command: Command, argv: readonly string[]): { positionals: string[]; values: Record<string, string | boolean | string[] | undefined> } {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean' } };
  for (const [flag, spec] of Object.entries(command.options)) {
    options[flag] = spec.default === undefined ? { type: spec.type, multiple: spec.multiple ?? false } : { type: spec.type, multiple: spec.multiple ?? false, default: spec.default as never };
  }
  try {
    const parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return { positionals: parsed.positionals, values: parsed.values as Record<string, string | boolean | string[] | undefined> };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Required string flag: a clear usage error when missing. */
export function requireString(input: CommandInput, flag: string): string {
  const value = input.values[flag];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${flag} is required`);
  return value;
}

/** Required path flag, resolved against the command's working directory. */
export function requirePath(input: CommandInput, flag: string): string {
  return pathOf(input, flag, requireString(input, flag));
}

const POSTGRES_LEDGER_HINT = '; this command works on a SQLite data directory. A PostgreSQL ledger is served by `mqpay worker --store URL` (the cluster mode), audited with `mqpay ledger check --store URL`, and backed up with PostgreSQL\'s own tools (pg_dump, base backups)';

/**
 * A path flag's value resolved against the command's working directory. A URL there is refused:
 * resolved as a path, `--data postgres://host/db` would quietly name a new directory
 * `postgres:/host/db` (and the broker would start an empty ledger in it).
 */
export function pathOf(input: CommandInput, flag: string, value: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1];
  if (scheme !== undefined) throw new UsageError(`--${flag} takes a path, not a ${scheme}:// URL${/^postgres(ql)?$/i.test(scheme) ? POSTGRES_LEDGER_HINT : ''}`);
  return resolve(input.io.cwd, value);
}

/** Integer flag within bounds. */
export function integerOption(input: CommandInput, flag: string, min: number, max: number): number | undefined {
  const value = input.values[flag];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^-?[0-9]+$/.test(value)) throw new UsageError(`--${flag} must be an integer`);
  const number = Number(value);
  if (number < min || number > max) throw new UsageError(`--${flag} must be between ${min} and ${max}`);
  return number;
}

export function describeError(error: unknown): string {
  if (error instanceof MqpayError) return `error ${error.code}: ${error.message}`;
  if (error instanceof UsageError) return `usage error: ${error.message}`;
  return `error: ${(error as Error)?.message ?? String(error)}`;
}
