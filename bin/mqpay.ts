// The `mqpay` process: runs one command with this process's streams, environment and working
// directory, and exits with the command's code. SIGINT/SIGTERM reach only the commands that wait
// for a stop (broker, agent run, settlements --watch): their handlers are installed on demand, so
// Ctrl-C still ends any other command the default way.
import { main } from '../cli/main.js';

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

main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), untilStopped }).then(
  (code) => {
    // exitCode, not exit(): piped output still flushes before the process ends.
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`fatal: ${String((error as Error)?.stack ?? error)}\n`);
    process.exitCode = 1;
  },
);
