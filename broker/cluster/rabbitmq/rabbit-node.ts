// Starts one local RabbitMQ 3.10 node as a child process with its own name, directory, ports and
// configuration (rabbit-config.ts), waits until its AMQP and MQTT listeners accept connections,
// and stops it. The node runs in its own process group (detached) so a stop that times out can
// kill the Erlang VM with its helpers; `outliveParent` lets `mqpay cluster up` exit and leave it
// running (`cluster down` stops it by the pid in the state file).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RABBIT_START_TIMEOUT_MS, RABBIT_STOP_TIMEOUT_MS } from '../../limits.js';
import { portOpen, spawnDaemon, waitUntil } from '../daemon.js';
import { freePort } from '../free-port.js';
import { stopProcess } from '../stop-process.js';
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

const logFileOf = (dir: string): string => join(dir, 'log', 'stdout.log');

/** Both listeners accept connections (the MQTT plugin's comes last in the boot). */
export function waitUntilListening(node: Pick<RabbitNode, 'pid' | 'amqpPort' | 'mqttPort' | 'dir' | 'nodeName'>): Promise<void> {
  const ports = [node.amqpPort, node.mqttPort];
  return waitUntil(`RabbitMQ node ${node.nodeName}`, node.pid, logFileOf(node.dir), RABBIT_START_TIMEOUT_MS, async () => (await Promise.all(ports.map((port) => portOpen(port, HOST)))).every(Boolean));
}

function writeNodeFiles(options: RabbitNodeOptions, amqpPort: number, mqttPort: number): void {
  mkdirSync(join(options.dir, 'log'), { recursive: true });
  mkdirSync(join(options.dir, 'mnesia'), { recursive: true });
  writeFileSync(join(options.dir, 'rabbitmq.conf'), rabbitConfig({ amqpPort, mqttPort, authBaseUrl: options.authBaseUrl, workerPassword: options.workerPassword, host: HOST }));
  writeFileSync(join(options.dir, 'enabled_plugins'), ENABLED_PLUGINS);
}

export async function startRabbitNode(options: RabbitNodeOptions): Promise<RabbitNode> {
  const amqpPort = options.amqpPort ?? (await freePort(HOST));
  const mqttPort = options.mqttPort ?? (await freePort(HOST));
  const distPort = options.distPort ?? (await freePort(HOST));
  writeNodeFiles(options, amqpPort, mqttPort);
  const pid = spawnDaemon({
    command: RABBIT_SERVER_BIN, args: [], env: rabbitServerEnv(options, { amqpPort, distPort }), cwd: options.dir,
    logFile: logFileOf(options.dir), outliveParent: options.outliveParent ?? false,
  });
  const stop = async (): Promise<void> => {
    await stopProcess(pid, { timeoutMs: RABBIT_STOP_TIMEOUT_MS, group: true });
  };
  const node = {
    nodeName: options.nodeName, dir: options.dir, home: options.home, pid, amqpPort, mqttPort, distPort,
    mqttUrl: `mqtt://${HOST}:${mqttPort}`, amqpUrl: workerAmqpUrl(HOST, amqpPort, options.workerPassword), stop,
  };
  try {
    await waitUntilListening(node);
  } catch (error) {
    await stop();
    throw error;
  }
  return node;
}
