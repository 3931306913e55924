import { main } from '../cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`fatal: ${String((error as Error)?.stack ?? error)}\n`);
    process.exitCode = 1;
  },
);
