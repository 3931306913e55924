// The lean `mqpay agent ...` entry (built into dist/mqpay-agent.js by scripts/build.mjs and
// chosen by the bin for `mqpay agent`): the agent's commands alone, so a device running
// `mqpay agent run` loads no broker, operator, simulator or dashboard code.
import { agentCommands } from '../agent/commands/register.js';
import type { CommandIo } from './command.js';
import { dispatch } from './dispatch.js';

export const main = (argv: readonly string[], io: CommandIo): Promise<number> => dispatch(agentCommands, argv, io);
