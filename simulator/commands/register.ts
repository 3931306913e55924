// The simulator's commands: `mqpay sim` (a seeded run with a verdict) and `mqpay demo` (the
// endless demo fleet behind `npm start`).
import type { Command } from '../../cli/command.js';
import { demoCommand } from './demo.js';
import { simCommand } from './sim.js';

export const simulatorCommands: Command[] = [simCommand, demoCommand];
