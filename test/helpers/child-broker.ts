// Runs the built `mqpay broker` as a child process, so a test can SIGKILL it like a power cut.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import { addDevice } from '../../broker/store/sqlite/devices.js';
import { openDatabase } from '../../broker/store/sqlite/open-database.js';
import { generateKeyPair, type KeyPair } from '../../shared/keys.js';
import { random, tempDir } from './broker-fixture.js';

import { freePort } from '../../broker/cluster/free-port.js';

export { freePort };

export interface ChildBroker {
  readonly process: ChildProcess;
  readonly output: () => string;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Starts `mqpay broker` and resolves once it prints that it is listening. */
export function startChildBroker(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ChildBroker> {
  const child = spawn(process.execPath, ['dist/mqpay.js', 'broker', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const handle: ChildBroker = {
    process: child,
    output: () => output,
    kill(signal) {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      });
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start:\n${output}`)), 15_000);
    const onData = () => {
      if (output.includes('listening')) {
        clearTimeout(timer);
        resolve(handle);
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code}:\n${output}`));
    });
  });
}

/**
 * A data directory with `devices` enrolled (fresh key pairs) and a free port, set up before the
 * describe block's tests and removed after, with the broker they start killed. Call it inside a
 * `describe`: it registers that block's beforeAll and afterAll hooks.
 */
export function childBrokerBed(prefix: string, devices: readonly string[]): {
  readonly dataDir: string;
  keysOf(device: string): KeyPair;
  readonly url: () => string;
  start(extraArgs?: readonly string[]): Promise<ChildBroker>;
  kill(signal: NodeJS.Signals): Promise<void>;
} {
  const dir = tempDir(prefix);
  const keys = new Map(devices.map((device) => [device, generateKeyPair(random)] as const));
  let port = 0;
  let broker: ChildBroker | null = null;
  beforeAll(async () => {
    const db = openDatabase(dir.path);
    for (const [device, pair] of keys) addDevice(db, device, pair.publicKey, Date.now());
    db.close();
    port = await freePort();
  });
  afterAll(async () => {
    await broker?.kill('SIGKILL');
    dir.remove();
  });
  return {
    dataDir: dir.path,
    keysOf(device) {
      const pair = keys.get(device);
      if (pair === undefined) throw new Error(`${device} is not enrolled in this bed`);
      return pair;
    },
    url: () => `mqtt://127.0.0.1:${port}`,
    async start(extraArgs = []) {
      broker = await startChildBroker(['--data', dir.path, '--mqtt-port', String(port), '--log-level', 'warn', '--operator-token', 'crash-test-operator-token', ...extraArgs]);
      return broker;
    },
    kill: async (signal) => broker?.kill(signal),
  };
}
