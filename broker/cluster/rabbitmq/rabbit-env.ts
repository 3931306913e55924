// The environment of one local RabbitMQ node and of the `rabbitmqctl` calls aimed at it. Every
// path and port is its own, so several clusters (other tests, other developers) run side by side
// on one machine; the nodes of one cluster share an Erlang cookie through the HOME they are given
// (`$HOME/.erlang.cookie`, mode 0400; RABBITMQ_ERLANG_COOKIE is deprecated).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Debian's layout; the scripts, not the /usr/sbin wrappers (those switch to the rabbitmq user). */
export const RABBIT_BIN_DIR = '/usr/lib/rabbitmq/bin';
export const RABBIT_SERVER_BIN = join(RABBIT_BIN_DIR, 'rabbitmq-server');
export const RABBITMQCTL_BIN = join(RABBIT_BIN_DIR, 'rabbitmqctl');

export function rabbitInstalled(): boolean {
  return existsSync(RABBIT_SERVER_BIN) && existsSync(RABBITMQCTL_BIN);
}

export interface RabbitNodePaths {
  /** rabbit-<name>@localhost */
  readonly nodeName: string;
  /** This node's own directory: config, mnesia, logs. */
  readonly dir: string;
  /** The cluster's HOME, holding the shared Erlang cookie. */
  readonly home: string;
}

/** Writes the cluster's cookie once (all nodes and rabbitmqctl read the same file). */
export function writeCookie(home: string, cookie: string): void {
  mkdirSync(home, { recursive: true });
  const path = join(home, '.erlang.cookie');
  if (!existsSync(path)) writeFileSync(path, cookie, { mode: 0o400 });
}

/** For rabbitmqctl: only the cookie and the node matter. */
export function rabbitCtlEnv(paths: RabbitNodePaths): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: paths.home,
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    RABBITMQ_NODENAME: paths.nodeName,
    // Debian's /etc/rabbitmq/rabbitmq-env.conf may set a NODENAME or ports: not ours.
    RABBITMQ_CONF_ENV_FILE: join(paths.dir, 'rabbitmq-env.conf'),
  };
}

export function rabbitServerEnv(paths: RabbitNodePaths, ports: { amqpPort: number; distPort: number }): NodeJS.ProcessEnv {
  return {
    ...rabbitCtlEnv(paths),
    RABBITMQ_MNESIA_BASE: join(paths.dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(paths.dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(paths.dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(paths.dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(paths.dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(paths.dir, 'rabbit.pid'),
    RABBITMQ_NODE_PORT: String(ports.amqpPort),
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_DIST_PORT: String(ports.distPort),
  };
}
