// The `mqpay agent ...` commands, as the dispatcher in cli/main.ts lists them. All but `init`
// also take their connection options from --config FILE and MQPAY_* variables (one file can
// serve `agent run` and the commands an operator runs beside it).
import type { Command, CommandInput } from '../../cli/command.js';
import { configScope, withConfigLayers } from '../../cli/config-layers.js';
import { acceptCommand, closeCommand, redeemCommand, voucherCommand } from './handover-commands.js';
import { initCommand } from './init-command.js';
import { logLevelOf } from './options.js';
import { payCommand } from './pay-command.js';
import { rotateKeyCommand } from './rotate-key-command.js';
import { runCommand } from './run-command.js';
import { statusCommand } from './status-command.js';

const layered = [payCommand, runCommand, statusCommand, voucherCommand, acceptCommand, redeemCommand, closeCommand, rotateKeyCommand];

/** What an agent config file may hold: where the home is, which broker, how much to log, what `run` offers, how long `pay` waits. */
const agentScope = configScope(layered, ['home', 'broker', 'broker-id', 'log-level', 'offer-unit', 'offer-price', 'timeout-ms']);

const checkAgentOptions = (input: CommandInput): void => {
  if (input.values['log-level'] !== undefined) logLevelOf(input);
};

export const agentCommands: Command[] = [initCommand, ...layered.map((command) => withConfigLayers(command, agentScope, checkAgentOptions))];
