// Runs the built `mqpay worker` as a child process, so a test can SIGKILL it mid-stream like a
// crashed machine. Resolves once the worker prints that it is consuming.
import { spawn, type ChildProcess } from 'node:child_process';

export interface WorkerChild {
  readonly process: ChildProcess;
  readonly output: () => string;
  /** Sends `signal` and resolves once the process has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

const WORKER_START_TIMEOUT_MS = 30_000;

export function startWorkerChild(args: readonly string[]): Promise<WorkerChild> {
  const child = spawn(process.execPath, ['dist/mqpay.js', 'worker', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const handle: WorkerChild = {
    process: child,
    output: () => output,
    kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${output}`)), WORKER_START_TIMEOUT_MS);
    const onData = () => {
      if (!output.includes('consuming')) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      resolve(handle);
    };
    child.stdout.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${child.exitCode ?? child.signalCode}:\n${output}`));
    });
  });
}
