// The broker under simulation runs as a child process (`mqpay broker`), on its own core and
// with its own heap, so the simulator can SIGKILL it like a power cut and start it again on
// the same data directory and port. Its log lines feed a BrokerLog.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { BrokerLog } from './broker-log.js';

/** How long a starting broker may take to say it is listening. */
export const BROKER_START_TIMEOUT_MS = 20_000;
/** How long a SIGTERMed broker may take to flush and exit before it is SIGKILLed. */
export const BROKER_STOP_TIMEOUT_MS = 15_000;
const OUTPUT_LINES_KEPT = 40;
/** USER_HZ is 100 on Linux: /proc times are in 10 ms ticks. */
const CLOCK_TICK_MS = 10;

/**
 * The built `mqpay` command, dist/mqpay.js. Bundled into dist/mqpay-cli.js, this module sits
 * beside the launcher dist/mqpay.js that loads it; run from source (tests) it is in
 * simulator/world/, and bundled into a bench (.bench-out/) it is one folder below the package
 * root: both find dist/ from the package root.
 */
export const defaultBrokerEntry = (): string => {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) return fileURLToPath(new URL('../../dist/mqpay.js', import.meta.url));
  if (basename(dirname(here)) === 'dist') return fileURLToPath(new URL('./mqpay.js', import.meta.url));
  return fileURLToPath(new URL('../dist/mqpay.js', import.meta.url));
};

export interface BrokerProcessOptions {
  readonly entry: string;
  readonly dataDir: string;
  readonly mqttPort: number;
  readonly httpPort: number | null;
  readonly epochSeconds: number;
  readonly operatorToken: string;
  readonly log: BrokerLog;
}

export class BrokerProcess {
  /** Incremented at every start: an attack that saw two generations was interrupted. */
  generation = 0;
  unexpectedExits = 0;
  private child: ChildProcess | null = null;
  private listening = false;
  /** Set when the simulator itself kills or stops the broker: that exit is expected. */
  private exitRequested = false;
  private readonly output: string[] = [];
  private readonly upListeners = new Set<() => void>();

  constructor(private readonly options: BrokerProcessOptions) {}

  get up(): boolean {
    return this.child !== null && this.listening;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  private args(): string[] {
    const { options } = this;
    const args = [options.entry, 'broker', '--data', options.dataDir, '--mqtt-port', String(options.mqttPort), '--epoch-seconds', String(options.epochSeconds), '--log-level', 'warn'];
    if (options.httpPort !== null) args.push('--http-port', String(options.httpPort));
    return args;
  }

  private remember(line: string): void {
    this.output.push(line);
    if (this.output.length > OUTPUT_LINES_KEPT) this.output.shift();
    this.options.log.line(line);
  }

  /** Starts the broker and resolves once it is listening. */
  start(): Promise<void> {
    if (this.child !== null) return Promise.reject(new Error('broker already running'));
    // Its own process group: a Ctrl-C in the terminal is for the simulator, which then stops
    // the broker itself once the fleet has wound down.
    const child = spawn(process.execPath, this.args(), { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, MQPAY_OPERATOR_TOKEN: this.options.operatorToken } });
    const orphanGuard = () => child.kill('SIGKILL');
    process.once('exit', orphanGuard);
    child.once('exit', () => process.off('exit', orphanGuard));
    this.child = child;
    this.listening = false;
    this.exitRequested = false;
    this.generation += 1;
    createInterface({ input: child.stderr }).on('line', (line) => this.remember(line));
    const stdout = createInterface({ input: child.stdout });
    stdout.on('line', (line) => this.remember(line));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`broker did not start in ${BROKER_START_TIMEOUT_MS} ms:\n${this.tail()}`)), BROKER_START_TIMEOUT_MS);
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      stdout.on('line', (line) => {
        if (this.listening || !line.includes('listening')) return;
        this.listening = true;
        clearTimeout(timer);
        for (const listener of this.upListeners) listener();
        resolve();
      });
      child.once('exit', (code, signal) => {
        if (this.child === child) {
          this.child = null;
          this.listening = false;
          if (!this.exitRequested) this.unexpectedExits += 1;
        }
        fail(new Error(`broker exited (${signal ?? code}):\n${this.tail()}`));
      });
    });
  }

  private exit(signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
    const child = this.child;
    if (child === null) return Promise.resolve();
    this.listening = false;
    this.exitRequested = true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill(signal);
    });
  }

  /** A power cut: SIGKILL, no flush, no goodbye. */
  kill(): Promise<void> {
    return this.exit('SIGKILL', BROKER_STOP_TIMEOUT_MS);
  }

  /** A clean shutdown: the broker commits its open voucher batch and closes the ledger. */
  stop(): Promise<void> {
    return this.exit('SIGTERM', BROKER_STOP_TIMEOUT_MS);
  }

  /** Resolves true once the broker is up (at once if it is), false after the timeout. */
  whenUp(timeoutMs: number): Promise<boolean> {
    if (this.up) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        this.upListeners.delete(onUp);
        resolve(value);
      };
      const onUp = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.upListeners.add(onUp);
    });
  }

  /** The broker's resident memory in bytes (Linux /proc), or null when unknown. */
  rssBytes(): number | null {
    const pid = this.pid;
    if (pid === null) return null;
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return match === null ? null : Number(match[1]) * 1024;
    } catch {
      return null;
    }
  }

  /** CPU time the broker process has used so far, in ms (Linux /proc; clock ticks of 10 ms), or null. */
  cpuMs(): number | null {
    const pid = this.pid;
    if (pid === null) return null;
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
      return Number.isFinite(ticks) ? ticks * CLOCK_TICK_MS : null;
    } catch {
      return null;
    }
  }

  tail(): string {
    return this.output.join('\n');
  }
}
