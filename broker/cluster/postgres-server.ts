// A throwaway local PostgreSQL 15 for development, tests and `mqpay cluster up`: initdb into a
// directory, then `pg_ctl start` on 127.0.0.1 at a free (or given) port with its unix socket in
// the same directory. The server is a daemon of pg_ctl, not a child tied to this process, so a
// `cluster up` that exits leaves it running and `cluster down` (stopPostgres(dir)) stops it.
//
// PostgreSQL refuses to run as root: when we are root, every step runs as the `postgres` user
// (runuser), and the directory is given to it. Host connections need the generated password
// (scram-sha-256); the local socket trusts its own user only, because the directory is 0700.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { POSTGRES_START_WAIT_SECONDS, POSTGRES_STOP_WAIT_SECONDS } from '../limits.js';

const run = promisify(execFile);

/** Where Debian's `postgresql-15` package puts the server binaries. */
export const POSTGRES_BIN_DIR = '/usr/lib/postgresql/15/bin';
export const POSTGRES_PACKAGE = 'postgresql (postgresql-15)';
/** The superuser initdb creates, and the database the URL names. */
export const POSTGRES_USER = 'mqpay';
export const POSTGRES_DATABASE = 'mqpay';
/** The OS user that runs the server when we are root. */
const SERVER_OS_USER = 'postgres';

const DATA_SUBDIR = 'data';
const URL_FILE = 'postgres.url';
const LOG_FILE = 'postgres.log';

export interface PostgresServerOptions {
  /** The server's directory (created if missing): data/, the socket, the log, the URL file. */
  readonly dir: string;
  /** TCP port on 127.0.0.1; default a free one. */
  readonly port?: number;
  /**
   * false: fsync off (tests, throwaway data: a power cut may lose commits). Default true: a
   * commit is durable when the server acknowledges it.
   */
  readonly durable?: boolean;
}

export interface PostgresServer {
  /** `postgres://mqpay:PASSWORD@127.0.0.1:PORT/mqpay`. */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  stop(): Promise<void>;
}

/** Why a local PostgreSQL cannot start here, or null when it can (tests skip with this reason). */
export function postgresMissingReason(): string | null {
  if (existsSync(join(POSTGRES_BIN_DIR, 'initdb'))) return null;
  return `PostgreSQL 15 is not installed (${POSTGRES_BIN_DIR}/initdb missing): install the Debian package ${POSTGRES_PACKAGE}`;
}

/**
 * Starts (and on first use initialises) the server in `options.dir`; an already initialised
 * directory keeps its data, its password and, unless `port` is given, its port (a restart).
 */
export async function startPostgres(options: PostgresServerOptions): Promise<PostgresServer> {
  const missing = postgresMissingReason();
  if (missing !== null) throw new Error(missing);
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  assertReachableByServerUser(dir);
  const previous = readUrlFile(dir);
  const password = previous?.password ?? randomBytes(18).toString('base64url');
  const port = options.port ?? (previous === null ? await freePort() : previous.port);
  assertSocketPathFits(dir, port);
  if (!existsSync(join(dir, DATA_SUBDIR, 'PG_VERSION'))) await initialise(dir, password);
  writeServerConfig(dir, port, options.durable ?? true);
  await asServerUser([join(POSTGRES_BIN_DIR, 'pg_ctl'), 'start', '-w', '-t', String(POSTGRES_START_WAIT_SECONDS), '-D', join(dir, DATA_SUBDIR), '-l', join(dir, LOG_FILE)], 'start');
  const url = `postgres://${POSTGRES_USER}:${password}@127.0.0.1:${port}/${POSTGRES_DATABASE}`;
  writeFileSync(join(dir, URL_FILE), `${url}\n`, { mode: 0o600 });
  return { url, port, dir, stop: () => stopPostgres(dir) };
}

/** Stops the server of `dir` (fast shutdown: sessions are cut, committed data kept); a stopped one is left as it is. */
export async function stopPostgres(dir: string): Promise<void> {
  const data = join(resolve(dir), DATA_SUBDIR);
  if (!existsSync(join(data, 'postmaster.pid'))) return;
  await asServerUser([join(POSTGRES_BIN_DIR, 'pg_ctl'), 'stop', '-w', '-t', String(POSTGRES_STOP_WAIT_SECONDS), '-m', 'fast', '-D', data], 'stop');
}

/**
 * Shuts the server of `dir` down at once and synchronously, for a process that is exiting and
 * cannot wait for `pg_ctl`: SIGQUIT to the postmaster is PostgreSQL's "immediate" shutdown (its
 * sessions end; committed data is kept and recovered from the WAL at the next start). Returns
 * whether a running server was signalled.
 */
export function stopPostgresNowSync(dir: string): boolean {
  const pid = postmasterPidOf(dir);
  if (pid === null) return false;
  try {
    process.kill(pid, 'SIGQUIT');
    return true;
  } catch {
    return false; // a stale pid file: the server is not running
  }
}

/** The postmaster's pid from the pid file of `dir`'s server, or null when it has none. */
export function postmasterPidOf(dir: string): number | null {
  const pidFile = join(resolve(dir), DATA_SUBDIR, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  return Number.isSafeInteger(pid) && pid > 1 ? pid : null;
}

/** The URL `startPostgres` wrote for `dir`, or null when it never started there. */
export function postgresUrlOf(dir: string): string | null {
  const file = join(resolve(dir), URL_FILE);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : null;
}

async function initialise(dir: string, password: string): Promise<void> {
  const passwordFile = join(dir, 'initdb.pw');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  giveToServerUser(dir);
  giveToServerUser(passwordFile);
  try {
    await asServerUser([
      join(POSTGRES_BIN_DIR, 'initdb'), '-D', join(dir, DATA_SUBDIR), '-U', POSTGRES_USER, `--pwfile=${passwordFile}`,
      '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync',
    ], 'initdb');
  } finally {
    rmSync(passwordFile, { force: true });
  }
  // The URL's database, made with the single-user backend before the server first listens, so
  // no client ever sees the server without it.
  await asServerUser([join(POSTGRES_BIN_DIR, 'postgres'), '--single', '-D', join(dir, DATA_SUBDIR), 'postgres'], 'create database', `CREATE DATABASE ${POSTGRES_DATABASE};\n`);
}

/** Settings in postgresql.auto.conf (rewritten at each start): listen on loopback only, socket in `dir`. */
function writeServerConfig(dir: string, port: number, durable: boolean): void {
  const lines = [
    `listen_addresses = '127.0.0.1'`,
    `port = ${port}`,
    `unix_socket_directories = '${dir}'`,
    `fsync = ${durable ? 'on' : 'off'}`,
    `synchronous_commit = ${durable ? 'on' : 'off'}`,
    `full_page_writes = ${durable ? 'on' : 'off'}`,
    // Several workers, the auth service and the tests each hold a pool.
    'max_connections = 200',
    'shared_buffers = 32MB',
  ];
  const file = join(dir, DATA_SUBDIR, 'postgresql.auto.conf');
  writeFileSync(file, `# Written by mqpay (broker/cluster/postgres-server.ts) at each start.\n${lines.join('\n')}\n`, { mode: 0o600 });
  giveToServerUser(file);
}

/** Longest unix socket path the kernel takes (sun_path is 108 bytes with its terminating NUL). */
const SOCKET_PATH_BYTES_MAX = 107;

/** The server's socket lives in `dir`: a path too long for a socket is refused here, clearly, not by the server's log. */
function assertSocketPathFits(dir: string, port: number): void {
  const socket = join(dir, `.s.PGSQL.${port}`);
  if (Buffer.byteLength(socket) > SOCKET_PATH_BYTES_MAX) {
    throw new Error(`the PostgreSQL socket path ${socket} is longer than ${SOCKET_PATH_BYTES_MAX} bytes: use a shorter server directory`);
  }
}

function readUrlFile(dir: string): { password: string; port: number } | null {
  const url = postgresUrlOf(dir);
  if (url === null) return null;
  const parsed = new URL(url);
  return { password: decodeURIComponent(parsed.password), port: Number(parsed.port) };
}

const isRoot = (): boolean => process.getuid?.() === 0;

function serverUserIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((entry) => entry.startsWith(`${SERVER_OS_USER}:`));
  if (line === undefined) throw new Error(`no '${SERVER_OS_USER}' user to run PostgreSQL as (it refuses root): install the Debian package ${POSTGRES_PACKAGE}`);
  const fields = line.split(':');
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

function giveToServerUser(path: string): void {
  if (!isRoot()) return;
  const { uid, gid } = serverUserIds();
  chownSync(path, uid, gid);
}

/**
 * Under root the server runs as `postgres`, which must be able to enter every parent of `dir`. A
 * parent of ours without it (a 0700 temporary or cluster directory) is given search permission
 * only (o+x: enter, not list), so the server can reach its own directory; a parent owned by
 * someone else is not changed, and is a clear error.
 */
function assertReachableByServerUser(dir: string): void {
  if (!isRoot()) return;
  for (let parent = dirname(dir); ; parent = dirname(parent)) {
    const stat = statSync(parent);
    if ((stat.mode & 0o001) === 0) {
      if (stat.uid !== process.getuid?.()) {
        throw new Error(`PostgreSQL runs as '${SERVER_OS_USER}', which cannot enter ${parent} (no o+x, not ours to change): put the server directory elsewhere, e.g. under /tmp`);
      }
      chmodSync(parent, (stat.mode & 0o7777) | 0o001);
    }
    if (parent === dirname(parent)) return;
  }
}

async function asServerUser(argv: readonly string[], what: string, input?: string): Promise<void> {
  const [file, ...args] = isRoot() ? ['runuser', '-u', SERVER_OS_USER, '--', ...argv] : argv;
  try {
    const child = run(file!, args, { timeout: (POSTGRES_START_WAIT_SECONDS + 5) * 1000 });
    if (input !== undefined) child.child.stdin?.end(input);
    await child;
  } catch (error) {
    const failed = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`PostgreSQL ${what} failed: ${(failed.stderr ?? '').trim() || failed.message}`);
  }
}

/** A port free on 127.0.0.1 right now (the OS picks it; a race with another process is possible, then start fails clearly). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}
