// The `mqpay` process: runs one command with this process's streams, environment and working
// directory, and exits with the command's code. SIGINT/SIGTERM reach only the commands that wait
// for a stop (broker, agent run, settlements --watch): their handlers are installed on demand, so
// Ctrl-C still ends any other command the default way.
//
// This file is a launcher (dist/mqpay.js): `mqpay agent ...` loads the lean agent entry
// (dist/mqpay-agent.js, cli/agent-main.ts), every other command the full CLI (dist/mqpay-cli.js,
// cli/main.ts). Both are separate files loaded at run time, so a device's `agent run` never
// loads the broker's code or its dependencies (aedes, prom-client, ws): each costs resident
// memory on a 512 MB device.
import { setFlagsFromString } from 'node:v8';
import type { CommandIo } from '../cli/command.js';

type Main = (argv: readonly string[], io: CommandIo) => Promise<number>;

/**
 * V8 flags for `mqpay agent ...`, set before the agent's code loads: lite mode (no optimising
 * compiler, feedback allocated lazily) measured 52 MB idle RSS for a connected `agent run`
 * against 56-61 MB without, next to 39.5 MB for a bare node (bench/agent.bench.ts). The agent's
 * hot work is in native code (node:crypto signatures, SQLite), so it loses little speed.
 * `--lite-mode` is refused in NODE_OPTIONS, hence here. MQPAY_AGENT_V8_FLAGS replaces them
 * ('' for none).
 */
const AGENT_V8_FLAGS_DEFAULT = '--lite-mode';

function untilStopped(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** The entry beside this file that serves `argv` (a URL: resolved at run time, never bundled in). */
const entryOf = (argv: readonly string[]): string => new URL(argv[0] === 'agent' ? './mqpay-agent.js' : './mqpay-cli.js', import.meta.url).href;

async function run(argv: readonly string[]): Promise<number> {
  const agentFlags = process.env.MQPAY_AGENT_V8_FLAGS ?? AGENT_V8_FLAGS_DEFAULT;
  if (argv[0] === 'agent' && agentFlags !== '') setFlagsFromString(agentFlags);
  const { main } = (await import(entryOf(argv))) as { main: Main };
  return main(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), untilStopped });
}

run(process.argv.slice(2)).then(
  (code) => {
    // exitCode, not exit(): piped output still flushes before the process ends.
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`fatal: ${String((error as Error)?.stack ?? error)}\n`);
    process.exitCode = 1;
  },
);
