// Children of `mqpay cluster up` that outlive it: each runs detached in its own process group with
// its output appended to a log file, and is found again by its pid (stop-process.ts). Readiness is
// observed, not slept on: a port that accepts connections, or a line in the log.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DAEMON_PROBE_INTERVAL_MS } from '../limits.js';
import { isAlive } from './stop-process.js';

export interface DaemonSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly logFile: string;
  readonly cwd?: string;
  /** Leave it running when this process exits (else it is still detached, but referenced). */
  readonly outliveParent?: boolean;
}

/** Starts the process and returns its pid (it leads its own process group). */
export function spawnDaemon(spec: DaemonSpec): number {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  const out = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, [...spec.args], { env: spec.env, cwd: spec.cwd, detached: true, stdio: ['ignore', out, out] });
    if (child.pid === undefined) throw new Error(`could not start ${spec.command}`);
    child.on('error', () => undefined);
    if (spec.outliveParent === true) child.unref();
    return child.pid;
  } finally {
    closeSync(out);
  }
}

export function logTail(file: string, lines = 30): string {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n') : '';
}

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Resolves once `ready()` holds; rejects when the process exits first or the time runs out,
 * with the end of its log in the message.
 */
export async function waitUntil(what: string, pid: number, logFile: string, timeoutMs: number, ready: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await ready()) return;
    if (!isAlive(pid)) throw new Error(`${what} exited while starting:\n${logTail(logFile)}`);
    if (Date.now() > deadline) throw new Error(`${what} was not ready within ${timeoutMs} ms:\n${logTail(logFile)}`);
    await sleep(DAEMON_PROBE_INTERVAL_MS);
  }
}

/** A line matching `pattern` is in the log file (appended since `fromByte`). */
export function logHas(logFile: string, pattern: RegExp, fromByte = 0): boolean {
  return existsSync(logFile) && pattern.test(readFileSync(logFile).subarray(fromByte).toString('utf8'));
}
