import type { Command } from '../cli/command.js';
import { deviceAddCommand, ledgerCheckCommand, walletFundCommand } from './cli/admin-commands.js';
import { brokerCommand } from './cli/broker-command.js';
import { viewCommands } from './cli/view-commands.js';

export const brokerCommands: Command[] = [brokerCommand, deviceAddCommand, walletFundCommand, ledgerCheckCommand, ...viewCommands];
