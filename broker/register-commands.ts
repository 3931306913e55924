// The broker area's `mqpay` commands, as cli/main.ts lists them: `mqpay broker` (broker-command.ts) and
// the operator's admin and view commands (operator/commands/).
import type { Command } from '../cli/command.js';
import { channelEvidenceCommand, deviceAddCommand, ledgerCheckCommand, ledgerInitCommand, walletFundCommand } from './operator/commands/admin-commands.js';
import { brokerCommand } from './broker-command.js';
import { channelCloseCommand } from './operator/commands/channel-close-command.js';
import { deviceLimitsCommand } from './operator/commands/device-limits-command.js';
import { deviceDisableCommand, deviceEnableCommand } from './operator/commands/device-status-commands.js';
import { settleCommand } from './operator/commands/settle-command.js';
import { deviceRekeyCommand } from './operator/commands/device-rekey-command.js';
import { viewCommands } from './operator/commands/view-commands.js';
import { moneyOutCommands } from './operator/commands/money-out-commands.js';
import { exportCommand } from './operator/commands/export-command.js';
import { clusterAuthCommand } from './cluster/auth/auth-command.js';
import { clusterDownCommand, clusterUpCommand } from './cluster/cluster-commands.js';
import { workerCommand } from './cluster/worker/worker-command.js';
import { ledgerBackupCommand, ledgerJournalCommand, ledgerRestoreCommand } from './operator/commands/backup-commands.js';

export const brokerCommands: Command[] = [brokerCommand, ledgerInitCommand, deviceAddCommand, walletFundCommand, ...moneyOutCommands, exportCommand, ledgerCheckCommand, ledgerBackupCommand, ledgerRestoreCommand, ledgerJournalCommand, channelEvidenceCommand, channelCloseCommand, settleCommand, deviceRekeyCommand, deviceLimitsCommand, deviceDisableCommand, deviceEnableCommand, ...viewCommands, workerCommand, clusterUpCommand, clusterDownCommand, clusterAuthCommand];
