import type { Command } from '../cli/command.js';
import { deviceAddCommand, ledgerCheckCommand, settlementsCommand, walletFundCommand } from './cli/admin-commands.js';
import { brokerCommand } from './cli/broker-command.js';

export const brokerCommands: Command[] = [brokerCommand, deviceAddCommand, walletFundCommand, ledgerCheckCommand, settlementsCommand];
