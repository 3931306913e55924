// The `mqpay agent ...` commands, as the dispatcher in cli/main.ts lists them.
import type { Command } from '../../cli/command.js';
import { acceptCommand, closeCommand, redeemCommand, voucherCommand } from './handover-commands.js';
import { initCommand } from './init-command.js';
import { payCommand } from './pay-command.js';
import { rotateKeyCommand } from './rotate-key-command.js';
import { runCommand } from './run-command.js';
import { statusCommand } from './status-command.js';

export const agentCommands: Command[] = [initCommand, payCommand, runCommand, statusCommand, voucherCommand, acceptCommand, redeemCommand, closeCommand, rotateKeyCommand];
