// Runs the built `mqpay` command (dist/mqpay.js, built by global-setup) as a child process.
import { execFile, spawn, type ChildProcess } from 'node:child_process';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['dist/mqpay.js', ...args], { env: { ...process.env, ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface RunningCli {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Waits until stdout (or stderr) contains `text`. */
  waitFor(text: string | RegExp, stream?: 'stdout' | 'stderr', timeoutMs?: number): Promise<void>;
  stop(): Promise<number | null>;
}

export function spawnCli(args: readonly string[]): RunningCli {
  const child = spawn(process.execPath, ['dist/mqpay.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout?.on('data', (chunk: Buffer) => (out.stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (out.stderr += chunk.toString()));
  return {
    child,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    waitFor(text, stream = 'stdout', timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        const check = () => {
          const seen = out[stream];
          if (typeof text === 'string' ? seen.includes(text) : text.test(seen)) return resolve();
          if (child.exitCode !== null) return reject(new Error(`mqpay exited ${child.exitCode}: ${out.stderr}`));
          if (Date.now() > deadline) return reject(new Error(`no ${String(text)} on ${stream}: ${seen} / ${out.stderr}`));
          setTimeout(check, 25);
        };
        check();
      });
    },
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      });
    },
  };
}
