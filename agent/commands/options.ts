// Flags shared by the agent commands, and their reading.
import { pino, type DestinationStream, type Logger } from 'pino';
import { UsageError, type CommandInput, type OptionSpec } from '../../cli/command.js';
import { loadAgentHome } from '../home/home.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * pino for the agent's command-line edge, to stderr (stdout carries command output). Amounts are
 * logged as strings by the callers; keys, signatures and passwords are redacted here as a second
 * line of defence. `destination`: fd 2 by default; the commands pass their own stderr (they also
 * run in-process).
 */
function createAgentLogger(level: string, device: string, destination: DestinationStream = pino.destination(2)): Logger {
  return pino({
    name: 'mqpay-agent', level, base: { device },
    redact: { paths: ['secretKey', 'password', 'signature', 'key', '*.secretKey', '*.password', '*.signature'], remove: true },
  }, destination);
}

export const homeOption: Record<string, OptionSpec> = {
  home: { type: 'string', description: 'agent home directory (key, agent.json, state.db)' },
};

export const brokerOptions: Record<string, OptionSpec> = {
  broker: { type: 'string', description: 'broker URL, mqtt://HOST:PORT or mqtts://HOST:PORT (default: brokerUrl in agent.json)' },
  'broker-id': { type: 'string', description: 'broker id in connect tokens (default: brokerId in agent.json)' },
  'log-level': { type: 'string', description: `log level on stderr: ${LOG_LEVELS.join(', ')}`, default: 'warn' },
};

export function optionalString(input: CommandInput, flag: string): string | undefined {
  const value = input.values[flag];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${flag} needs a value`);
  return value;
}

export function logLevelOf(input: CommandInput): string {
  const level = optionalString(input, 'log-level') ?? 'warn';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

/** createAgent options from the broker flags; absent flags fall back to agent.json. */
/**
 * The broker to dial: --broker, else the home's agent.json. Neither is a usage error (exit 2,
 * with the command's help), not a malformed message: the user left out an option.
 */
export function connectionOf(input: CommandInput, home: string): { brokerUrl?: string; brokerId?: string } {
  const brokerUrl = optionalString(input, 'broker');
  if (brokerUrl === undefined && loadAgentHome(home).config.brokerUrl === undefined) {
    throw new UsageError(`no broker to connect to: pass --broker URL (e.g. mqtt://broker.local:1883), or set brokerUrl in ${home}/agent.json`);
  }
  const brokerId = optionalString(input, 'broker-id');
  return { ...(brokerUrl === undefined ? {} : { brokerUrl }), ...(brokerId === undefined ? {} : { brokerId }) };
}

/** The agent's pino logger, writing to the command's stderr (not fd 2: commands also run in-process). */
export function commandLogger(input: CommandInput, device: string): Logger {
  return createAgentLogger(logLevelOf(input), device, { write: (text: string) => void input.io.stderr.write(text) });
}
