// Dispatches `mqpay <words...>` to the longest matching command of a list: every command
// (cli/main.ts), or the agent's alone (cli/agent-main.ts, the lean entry `mqpay agent ...` runs
// from, which loads no broker, operator or simulator code).
import { PROTOCOL_VERSION } from '../shared/schemas.js';
import { MQPAY_VERSION } from '../shared/version.js';
import { describeError, helpOf, parseCommandArgs, UsageError, type Command, type CommandIo, type ResolvedIo } from './command.js';

function findCommand(commands: readonly Command[], argv: readonly string[]): { command: Command; rest: string[] } | null {
  let best: Command | null = null;
  for (const command of commands) {
    const matches = command.name.every((word, i) => argv[i] === word);
    if (matches && (best === null || command.name.length > best.name.length)) best = command;
  }
  return best === null ? null : { command: best, rest: argv.slice(best.name.length) };
}

/** The commands whose name starts with `prefix` (all of them for an empty prefix), one a line. */
function commandRows(commands: readonly Command[], prefix: readonly string[]): string[] {
  const listed = commands.filter((c) => prefix.every((word, i) => c.name[i] === word));
  const width = Math.max(...listed.map((c) => [...c.name, ...c.positionals].join(' ').length), 10);
  return listed.map((c) => `  ${[...c.name, ...c.positionals].join(' ').padEnd(width + 2)}${c.summary}`);
}

export function overview(commands: readonly Command[]): string {
  return ['usage: mqpay <command> [options]', '', 'mqpay: machines paying machines over MQTT.', '', 'commands:', ...commandRows(commands, []), '',
    'Run `mqpay <command> --help` for the options of one command, `mqpay --version` for the version.'].join('\n');
}

/** `mqpay device` or `mqpay device --help`: the group's commands, when the words name a group. */
function groupHelp(commands: readonly Command[], argv: readonly string[]): string | null {
  const words = argv.filter((word) => word !== '--help' && word !== '-h');
  if (words.length === 0) return null;
  const rows = commandRows(commands, words);
  if (rows.length === 0) return null;
  return [`usage: mqpay ${words.join(' ')} <command> [options]`, '', 'commands:', ...rows, '', 'Run `mqpay <command> --help` for the options of one command.'].join('\n');
}

/** A stop that never comes: long-running commands run until the process ends. */
const NEVER = (): Promise<string> => new Promise<string>(() => undefined);

/**
 * Runs one `mqpay` command line and returns its exit code: 0 done, 1 failed, 2 usage error.
 * Writes only to `io`, never exits the process: the bin does that with the code.
 */
export async function dispatch(commands: readonly Command[], argv: readonly string[], io: CommandIo): Promise<number> {
  const resolved: ResolvedIo = { ...io, cwd: io.cwd ?? process.cwd(), untilStopped: io.untilStopped ?? NEVER };
  const stdout = (line: string) => void io.stdout.write(`${line}\n`);
  const stderr = (line: string) => void io.stderr.write(`${line}\n`);
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    stdout(overview(commands));
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === '--version' || argv[0] === '-V') {
    stdout(`mqpay ${MQPAY_VERSION} (protocol ${PROTOCOL_VERSION}, node ${process.versions.node})`);
    return 0;
  }
  const found = findCommand(commands, argv);
  if (found === null) {
    const group = groupHelp(commands, argv);
    const asked = argv.includes('--help') || argv.includes('-h');
    if (group !== null) {
      (asked ? stdout : stderr)(group);
      return asked ? 0 : 2;
    }
    stderr(`unknown command: ${argv.join(' ')}\n\n${overview(commands)}`);
    return 2;
  }
  try {
    const { positionals, values } = parseCommandArgs(found.command, found.rest);
    if (values.help === true) {
      stdout(helpOf(found.command));
      return 0;
    }
    // A positional written in brackets ('[AMOUNT]') may be left out; the others may not.
    const required = found.command.positionals.filter((name) => !name.startsWith('[')).length;
    if (positionals.length < required || positionals.length > found.command.positionals.length) {
      throw new UsageError(`expected ${found.command.positionals.length === 0 ? 'no arguments' : found.command.positionals.join(' ')}, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
    }
    return await found.command.run({ positionals, values, stdout, stderr, io: resolved });
  } catch (error) {
    stderr(describeError(error));
    if (error instanceof UsageError) stderr(`\n${helpOf(found.command)}`);
    return error instanceof UsageError ? 2 : 1;
  }
}
