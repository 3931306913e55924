// `mqpay agent pay --timeout-ms N` is one deadline for the whole command, not N per wait: with a
// broker that cannot be reached, one that accepts TCP and never answers, an MQTT broker with no
// payment service behind it, and one that takes the voucher and never accepts it, the command
// ends reporting the phase the deadline ran out in (connect, channel, acceptance) and what became
// of the payment. Tests synchronise on the command's exit, never on the clock.
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, tempDir, type RunningBroker } from './helpers/broker-fixture.js';
import { freePort } from './helpers/agent-fixture.js';
import { runCli } from './helpers/ops-cli.js';
import { Deadline, DeadlineExpired } from '../agent/deadline.js';

const mqpay = (...args: string[]) => runCli(args);
const lastLine = (text: string): string => text.trim().split('\n').pop() ?? '';

/** Listens on a loopback port; `serve` handles each connection. */
async function listen(serve: (socket: Socket) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serve(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

describe('agent pay --timeout-ms: one deadline over every phase', () => {
  const dir = tempDir('mqpay-pay-deadline-');
  const brokerDir = join(dir.path, 'broker');
  const home = join(dir.path, 'car');
  let broker: RunningBroker;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    broker = await startBroker({}, brokerDir);
    const init = await mqpay('agent', 'init', '--home', home, '--id', 'car-30', '--service-key-file', join(brokerDir, 'service.pub'));
    expect(init.code).toBe(0);
    expect((await mqpay('device', 'add', 'car-30', '--public-key', lastLine(init.stdout), '--data', brokerDir)).code).toBe(0);
    broker.enrol('charger-30');
    expect((await mqpay('wallet', 'fund', 'car-30', '10', '--data', brokerDir)).code).toBe(0);
  });
  afterAll(async () => {
    for (const close of closers) await close();
    await broker.stop();
    dir.remove();
  });

  const pay = (url: string) => mqpay('agent', 'pay', 'charger-30', '0.1', '--home', home, '--broker', url, '--timeout-ms', '400', '--log-level', 'silent');

  it('a broker that cannot be reached: phase connect, nothing signed', async () => {
    const failed = await pay(`mqtt://127.0.0.1:${await freePort()}`);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toBe('error SERVICE_UNAVAILABLE: service is unavailable: no connection to the broker within 400 ms (phase: connect); nothing was signed or paid\n');
  });

  it('a broker that accepts the connection and never answers it: phase connect', async () => {
    const silent = await listen(() => undefined);
    closers.push(silent.close);
    const failed = await pay(silent.url);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('(phase: connect); nothing was signed or paid');
    const status = JSON.parse((await mqpay('agent', 'status', '--home', home, '--json')).stdout) as { pendingVouchers: number; paying: unknown[] };
    expect(status.pendingVouchers).toBe(0);
    expect(status.paying).toEqual([]);
  });

  it('an MQTT broker with no payment service behind it: phase channel, nothing signed', async () => {
    const aedes = await Aedes.createBroker();
    const bare = await listen((socket) => aedes.handle(socket));
    closers.push(async () => {
      await bare.close();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    });
    const failed = await pay(bare.url);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toBe('error TIMEOUT: no answer in time: no open channel to charger-30 with room within 400 ms (phase: channel); nothing was signed or paid (an opening channel is finished on a later connect)\n');

    // The real broker finishes the stored opening and takes the payment.
    const paid = await mqpay('agent', 'pay', 'charger-30', '0.1', '--home', home, '--broker', broker.url);
    expect(paid.stderr).toBe('');
    expect(paid.stdout).toContain('paid 0.1 to charger-30: accepted as seq 1');

    // With the channel open, a broker that takes the voucher and never accepts it: phase acceptance.
    const pending = await pay(bare.url);
    expect(pending.code).toBe(1);
    expect(pending.stderr).toContain('no acceptance from the service within 400 ms (phase: acceptance); voucher seq 2 of channel');
    expect(pending.stderr).toContain('the voucher is stored; `mqpay agent run` (or the next pay) re-sends it until the service accepts it');
    const status = JSON.parse((await mqpay('agent', 'status', '--home', home, '--json')).stdout) as { pendingVouchers: number };
    expect(status.pendingVouchers).toBe(1);
  });
});

describe('Deadline with an injected clock', () => {
  it('gives each wait what is left, and a wait with nothing left ends at once naming its phase', async () => {
    let now = 1_000;
    const clock = { nowMs: () => now };
    const deadline = new Deadline(clock, 500);
    expect(deadline.remainingMs()).toBe(500);
    now = 1_200;
    expect(deadline.remainingMs()).toBe(300);
    await expect(deadline.bound(Promise.resolve('accepted'), phase)).resolves.toBe('accepted');
    now = 2_000;
    expect(deadline.remainingMs()).toBe(0);
    const never = new Promise<never>(() => undefined);
    const expired = await deadline.bound(never, phase).catch((error: unknown) => error);
    expect(expired).toBeInstanceOf(DeadlineExpired);
    expect((expired as DeadlineExpired).code).toBe('TIMEOUT');
    expect((expired as DeadlineExpired).phase.name).toBe('acceptance');
    expect((expired as Error).message).toBe('no answer in time: no acceptance from the service within 500 ms (phase: acceptance); the voucher is stored');
    expect(() => new Deadline(clock, 0)).toThrow(RangeError);
  });
});

const phase = { name: 'acceptance', awaited: 'acceptance from the service', consequence: 'the voucher is stored' };
