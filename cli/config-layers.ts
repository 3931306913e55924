// Options from four layers: command-line flags override MQPAY_* environment variables, which
// override a config file (--config FILE, see config-file.ts), which overrides the defaults.
// `withConfigLayers` wraps a command so that its run sees the merged options, validated once
// (zod, strict: a key no command of the family knows is an error naming the key and the file)
// and frozen; `--print-config` prints them (secrets redacted) and exits 0. The command itself
// reads `input.values` as before and does not know where a value came from.
import * as z from 'zod';
import { resolve } from 'node:path';
import type { Command, CommandInput, OptionSpec } from './command.js';
import { ConfigError, readConfigFile, type ConfigEntry } from './config-file.js';
import { ENV_PREFIX } from './limits.js';

/** Which options a family of commands (the broker; the agent commands) takes from a file or the environment. */
export interface ConfigScope {
  /** Every key a config file of the family may hold, with its type; a command uses those it has. */
  readonly keys: Readonly<Record<string, OptionSpec['type']>>;
  /** Keys whose values --print-config never shows. */
  readonly secrets: readonly string[];
}

type Value = string | boolean;
interface Origin { readonly value: Value; readonly from: string }

/** `--http-port` is MQPAY_HTTP_PORT. */
export function envNameOf(key: string): string {
  return `${ENV_PREFIX}${key.toUpperCase().replaceAll('-', '_')}`;
}

/** The scope of the given keys, typed as the commands declare them. */
export function configScope(commands: readonly Command[], keys: readonly string[], secrets: readonly string[] = []): ConfigScope {
  const typed: Record<string, OptionSpec['type']> = {};
  for (const key of keys) {
    const spec = commands.map((command) => command.options[key]).find((found) => found !== undefined);
    if (spec === undefined || spec.multiple === true) throw new Error(`config key ${key} is not a single-valued option of these commands`);
    typed[key] = spec.type;
  }
  return { keys: typed, secrets };
}

function schemaOf(scope: ConfigScope): z.ZodType<Record<string, Value | undefined>> {
  const shape = Object.fromEntries(Object.entries(scope.keys).map(([key, type]) => [key,
    (type === 'boolean' ? z.enum(['true', 'false'], { message: 'must be true or false' }).transform((text) => text === 'true') : z.string().min(1, 'needs a value')).optional()]));
  return z.strictObject(shape) as unknown as z.ZodType<Record<string, Value | undefined>>;
}

/** Validates one layer's raw text values; `where(key)` names the place of a key in errors. */
function validated(scope: ConfigScope, raw: Record<string, string>, where: (key: string) => string): Record<string, Value | undefined> {
  const result = schemaOf(scope).safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    throw new ConfigError(`unknown key "${key}" in ${where(key)} (known keys: ${Object.keys(scope.keys).join(', ')})`);
  }
  const key = String(issue?.path[0] ?? '');
  throw new ConfigError(`${where(key)}: ${key} ${issue?.message ?? 'is invalid'}`);
}

/** The file's validated values, and where each was: `FILE line N`. */
function fileLayer(scope: ConfigScope, path: string): { values: Record<string, Value | undefined>; where: (key: string) => string } {
  const entries: Map<string, ConfigEntry> = readConfigFile(path);
  const raw = Object.fromEntries([...entries].map(([key, entry]) => [key, entry.value]));
  const where = (key: string) => `${path} line ${entries.get(key)?.line ?? '?'}`;
  return { values: validated(scope, raw, where), where };
}

function envLayer(scope: ConfigScope, env: CommandInput['io']['env']): Record<string, Value | undefined> {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(scope.keys)) {
    const value = env[envNameOf(key)];
    if (value !== undefined) raw[key] = value;
  }
  return validated(scope, raw, (key) => `environment variable ${envNameOf(key)}`);
}

/** The merged value of each layered option and where it came from. */
function mergeLayers(command: Command, layered: readonly string[], scope: ConfigScope, input: CommandInput): Map<string, Origin> {
  const configPath = typeof input.values.config === 'string' ? resolve(input.io.cwd, input.values.config) : null;
  const { values: file, where } = configPath === null ? { values: {}, where: () => '' } : fileLayer(scope, configPath);
  const env = envLayer(scope, input.io.env);
  const merged = new Map<string, Origin>();
  for (const key of layered) {
    const flag = input.values[key];
    const chosen: Origin | null =
      flag !== undefined && !Array.isArray(flag) ? { value: flag, from: 'flag' }
      : env[key] !== undefined ? { value: env[key], from: envNameOf(key) }
      : file[key] !== undefined ? { value: file[key], from: where(key) }
      : command.options[key]?.default !== undefined ? { value: command.options[key].default, from: 'default' }
      : null;
    if (chosen !== null) merged.set(key, chosen);
  }
  return merged;
}

function printConfig(command: Command, layered: readonly string[], scope: ConfigScope, merged: Map<string, Origin>, print: (line: string) => void): void {
  print(`# mqpay ${command.name.join(' ')}: flags > environment (${ENV_PREFIX}*) > --config file > defaults`);
  const rows = layered.map((key) => {
    const origin = merged.get(key);
    if (origin === undefined) return { left: `# ${key} =`, right: `not set (${envNameOf(key)})` };
    const shown = scope.secrets.includes(key) ? '(redacted)' : String(origin.value);
    return { left: `${key} = ${shown}`, right: origin.from };
  });
  const width = Math.max(...rows.map((row) => row.left.length)) + 2;
  for (const row of rows) print(`${row.left.padEnd(width)}# ${row.right}`);
}

/** The command's options with the layered keys' defaults moved to their descriptions (applied after the merge). */
function layeredOptions(command: Command, layered: readonly string[]): Record<string, OptionSpec> {
  const options: Record<string, OptionSpec> = {};
  for (const [key, spec] of Object.entries(command.options)) {
    if (!layered.includes(key) || spec.default === undefined) {
      options[key] = spec;
      continue;
    }
    const { default: fallback, ...rest } = spec;
    options[key] = { ...rest, description: `${spec.description} (default: ${String(fallback)}; env ${envNameOf(key)})` };
  }
  for (const key of layered) {
    const spec = options[key];
    if (spec !== undefined && !spec.description.includes(envNameOf(key))) options[key] = { ...spec, description: `${spec.description} (env ${envNameOf(key)})` };
  }
  options.config = { type: 'string', description: `read options from this file: one "key = value" a line, keys named as the options above (http-port = 8080); ${ENV_PREFIX}* variables and flags override it` };
  options['print-config'] = { type: 'boolean', description: 'print the resulting options and where each came from (secrets redacted), then exit' };
  return options;
}

/**
 * `command` taking the keys of `scope` it has from --config FILE and MQPAY_* too. `check` runs the
 * command's own validation of the merged options (before --print-config prints them, so a
 * printed configuration is one the command accepts).
 */
export function withConfigLayers(command: Command, scope: ConfigScope, check?: (input: CommandInput) => void): Command {
  const layered = Object.keys(command.options).filter((key) => scope.keys[key] !== undefined);
  return {
    ...command,
    options: layeredOptions(command, layered),
    async run(input) {
      const merged = mergeLayers(command, layered, scope, input);
      const values = { ...input.values };
      for (const key of layered) values[key] = merged.get(key)?.value;
      const next: CommandInput = { ...input, values: Object.freeze(values) };
      check?.(next);
      if (input.values['print-config'] === true) {
        printConfig(command, layered, scope, merged, input.stdout);
        return 0;
      }
      return command.run(next);
    },
  };
}
