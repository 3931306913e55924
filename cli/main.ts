// Dispatches `mqpay <words...>` to the longest matching command. Each area lists its own
// commands (its register-commands file); this is the one place that knows all areas.
import { agentCommands } from '../agent/commands/register.js';
import { brokerCommands } from '../broker/register-commands.js';
import { simulatorCommands } from '../simulator/commands/register.js';
import type { Command, CommandIo } from './command.js';
import { dispatch, overview as overviewOf } from './dispatch.js';

export const commands: readonly Command[] = [...brokerCommands, ...agentCommands, ...simulatorCommands];

export const overview = (): string => overviewOf(commands);

/**
 * Runs one `mqpay` command line and returns its exit code: 0 done, 1 failed, 2 usage error.
 * Writes only to `io`, never exits the process: the bin does that with the code.
 */
export const main = (argv: readonly string[], io: CommandIo): Promise<number> => dispatch(commands, argv, io);
