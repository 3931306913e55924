// The `mqpay agent ...` commands.
import type { Command } from '../cli/command.js';
import { initCommand } from './cli/init-command.js';
import { payCommand } from './cli/pay-command.js';
import { runCommand } from './cli/run-command.js';
import { statusCommand } from './cli/status-command.js';

export const agentCommands: Command[] = [initCommand, payCommand, runCommand, statusCommand];
