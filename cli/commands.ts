// The list of `mqpay` commands. Each area owns its own command files.
import { agentCommands } from '../agent/cli.js';
import { brokerCommands } from '../broker/cli.js';
import { simulatorCommands } from '../simulator/commands/register.js';
import type { Command } from './command.js';

export const commands: Command[] = [...brokerCommands, ...agentCommands, ...simulatorCommands];
