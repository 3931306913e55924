// Runs `mqpay` commands in tests. In-process by default: `main(argv, io)` with buffers for
// stdout and stderr, an environment of the test's own, and a stop the test controls (what SIGTERM
// is to the bin). The built bin (dist/mqpay.js, built by global-setup) is run as a child process
// only by the smoke tests that check the shipped file itself.
import { execFile } from 'node:child_process';
import { main } from '../../cli/main.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

type Stream = 'stdout' | 'stderr';

/** Output buffers that wake waiters on every write: waiting is driven by output, not by timers. */
function capture(): { out: Record<Stream, string>; sink: (stream: Stream) => { write(text: string): boolean }; changed: Set<() => void> } {
  const out: Record<Stream, string> = { stdout: '', stderr: '' };
  const changed = new Set<() => void>();
  return {
    out,
    changed,
    sink: (stream) => ({
      write(text: string) {
        out[stream] += text;
        for (const wake of [...changed]) wake();
        return true;
      },
    }),
  };
}

/** One command run to completion in this process. `env` is the whole environment it sees. */
export async function runCli(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const { out, sink } = capture();
  const code = await main(args, { stdout: sink('stdout'), stderr: sink('stderr'), env });
  return { code, stdout: out.stdout, stderr: out.stderr };
}

export interface RunningCli {
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout (or stderr) contains `text`; rejects if the command ends first. */
  waitFor(text: string | RegExp, stream?: Stream): Promise<void>;
  /** Asks the command to stop (as SIGTERM does for the bin) and resolves with its exit code. */
  stop(): Promise<number>;
}

/** A long-running command (`settlements --watch`, `agent run`) started in this process. */
export function startCli(args: readonly string[], env: Record<string, string | undefined> = {}): RunningCli {
  const { out, sink, changed } = capture();
  let requestStop: (reason: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => {
    requestStop = resolve;
  });
  let ended = false;
  const done = main(args, { stdout: sink('stdout'), stderr: sink('stderr'), env, untilStopped: () => stopped }).finally(() => {
    ended = true;
    for (const wake of [...changed]) wake();
  });
  return {
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    waitFor(text, stream = 'stdout') {
      return new Promise((resolve, reject) => {
        const check = () => {
          const seen = out[stream];
          if (typeof text === 'string' ? seen.includes(text) : text.test(seen)) {
            changed.delete(check);
            return resolve();
          }
          if (ended) {
            changed.delete(check);
            reject(new Error(`mqpay ${args.join(' ')} ended before printing ${String(text)} on ${stream}: ${out.stdout} / ${out.stderr}`));
          }
        };
        changed.add(check);
        check();
      });
    },
    stop() {
      requestStop('SIGTERM');
      return done;
    },
  };
}

/** The shipped bin as a child process, for the smoke tests of dist/mqpay.js itself. */
export function runBuiltCli(args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['dist/mqpay.js', ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}
