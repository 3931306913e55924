// The list of `mqpay` commands. Each area owns its own command files.
import type { Command } from './command.js';

export const commands: Command[] = [];
