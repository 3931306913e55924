// Starts one local RabbitMQ 3.10 node as a child process with its own name, directory, ports and
// configuration (rabbit-config.ts), waits until its AMQP and MQTT listeners accept connections,
// and stops it. The node runs in its own process group (detached) so a stop that times out can
// kill the Erlang VM with its helpers; `outliveParent` lets `mqpay cluster up` exit and leave it
// running (`cluster down` stops it by the pid in the state file).
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RABBIT_PROBE_INTERVAL_MS, RABBIT_START_TIMEOUT_MS, RABBIT_STOP_TIMEOUT_MS } from '../../limits.js';
import { freePort } from '../free-port.js';
import { isAlive, stopProcess } from '../stop-process.js';
import { ENABLED_PLUGINS, rabbitConfig } from './rabbit-config.js';
import { RABBIT_SERVER_BIN, rabbitServerEnv, type RabbitNodePaths } from './rabbit-env.js';
import { workerAmqpUrl } from './rabbit-names.js';

export interface RabbitNodeOptions extends RabbitNodePaths {
  readonly authBaseUrl: string;
  readonly workerPassword: string;
  /** Free ports are picked for those not given. */
  readonly amqpPort?: number;
  readonly mqttPort?: number;
  readonly distPort?: number;
  /** Leave the node running when this process exits (for `mqpay cluster up`). */
  readonly outliveParent?: boolean;
}

export interface RabbitNode extends RabbitNodePaths {
  /** The pid of the rabbitmq-server script (it forwards SIGTERM to the VM and waits for it). */
  readonly pid: number;
  readonly amqpPort: number;
  readonly mqttPort: number;
  readonly distPort: number;
  /** mqtt://127.0.0.1:PORT: what a device's broker URL becomes. */
  readonly mqttUrl: string;
  /** The worker user's AMQP URL on this node. */
  readonly amqpUrl: string;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The last lines of the node's logs, for an error that says why it did not start. */
export function rabbitLogTail(dir: string, lines = 30): string {
  const parts: string[] = [];
  for (const name of ['stdout.log']) {
    const path = join(dir, 'log', name);
    if (existsSync(path)) parts.push(readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n'));
  }
  return parts.join('\n');
}

export async function waitUntilListening(pid: number, ports: readonly number[], dir: string): Promise<void> {
  const deadline = Date.now() + RABBIT_START_TIMEOUT_MS;
  for (;;) {
    if (!isAlive(pid)) throw new Error(`RabbitMQ node in ${dir} exited while starting:\n${rabbitLogTail(dir)}`);
    const open = await Promise.all(ports.map(portOpen));
    if (open.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`RabbitMQ node in ${dir} did not listen on ${ports.join(', ')} within ${RABBIT_START_TIMEOUT_MS} ms:\n${rabbitLogTail(dir)}`);
    await sleep(RABBIT_PROBE_INTERVAL_MS);
  }
}

function writeNodeFiles(options: RabbitNodeOptions, amqpPort: number, mqttPort: number): void {
  mkdirSync(join(options.dir, 'log'), { recursive: true });
  mkdirSync(join(options.dir, 'mnesia'), { recursive: true });
  writeFileSync(join(options.dir, 'rabbitmq.conf'), rabbitConfig({ amqpPort, mqttPort, authBaseUrl: options.authBaseUrl, workerPassword: options.workerPassword, host: HOST }));
  writeFileSync(join(options.dir, 'enabled_plugins'), ENABLED_PLUGINS);
}

function spawnServer(options: RabbitNodeOptions, amqpPort: number, distPort: number): number {
  const out = openSync(join(options.dir, 'log', 'stdout.log'), 'a');
  try {
    const child = spawn(RABBIT_SERVER_BIN, [], { env: rabbitServerEnv(options, { amqpPort, distPort }), cwd: options.dir, detached: true, stdio: ['ignore', out, out] });
    if (child.pid === undefined) throw new Error(`could not start ${RABBIT_SERVER_BIN}`);
    child.on('error', () => undefined);
    if (options.outliveParent === true) child.unref();
    return child.pid;
  } finally {
    closeSync(out);
  }
}

export async function startRabbitNode(options: RabbitNodeOptions): Promise<RabbitNode> {
  const amqpPort = options.amqpPort ?? (await freePort(HOST));
  const mqttPort = options.mqttPort ?? (await freePort(HOST));
  const distPort = options.distPort ?? (await freePort(HOST));
  writeNodeFiles(options, amqpPort, mqttPort);
  const pid = spawnServer(options, amqpPort, distPort);
  const stop = async (): Promise<void> => {
    await stopProcess(pid, { timeoutMs: RABBIT_STOP_TIMEOUT_MS, group: true });
  };
  try {
    await waitUntilListening(pid, [amqpPort, mqttPort], options.dir);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    nodeName: options.nodeName, dir: options.dir, home: options.home, pid, amqpPort, mqttPort, distPort,
    mqttUrl: `mqtt://${HOST}:${mqttPort}`, amqpUrl: workerAmqpUrl(HOST, amqpPort, options.workerPassword), stop,
  };
}
