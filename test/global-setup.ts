// Builds the `mqpay` bin once before the suite: tests that run the broker or an agent as a
// child process (to SIGKILL it), and the smoke tests of the shipped bin, run the real built
// command, as a user would. Other CLI tests call `main` in-process.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
}
