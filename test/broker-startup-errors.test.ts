// A broker that cannot start says why in one line and ends, instead of living on with nothing
// listening or dying with a stack trace: a busy MQTT port, a busy HTTP port. In-process `main`,
// and once as the built bin, which must exit by itself.
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/broker-fixture.js';
import { runCli } from './helpers/ops-cli.js';

const run = promisify(execFile);
const held: Server[] = [];
const dirs: { remove: () => void }[] = [];
afterEach(async () => {
  await Promise.all(held.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  for (const dir of dirs.splice(0)) dir.remove();
});

/** A port on 127.0.0.1 held by this test. */
async function busyPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  held.push(server);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const dataDir = (): string => {
  const dir = tempDir('mqpay-startup-');
  dirs.push(dir);
  return dir.path;
};

describe('broker startup errors', () => {
  it('a busy MQTT port: exit 1 and one line naming the address', async () => {
    const port = await busyPort();
    const result = await runCli(['broker', '--data', dataDir(), '--mqtt-port', String(port), '--log-level', 'silent']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error: cannot listen on 127.0.0.1:${port}: the port is already in use (another broker running?)\n`);
    expect(result.stdout).toBe('');
  });

  it('a busy HTTP port: the same, though the MQTT port was free', async () => {
    const port = await busyPort();
    const result = await runCli(['broker', '--data', dataDir(), '--mqtt-port', '0', '--http-port', String(port), '--log-level', 'silent']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error: cannot listen on 127.0.0.1:${port}: the port is already in use (another broker running?)\n`);
  });

  it('the built bin ends by itself with exit 1 (nothing left running)', async () => {
    const port = await busyPort();
    const failed = await run(process.execPath, ['dist/mqpay.js', 'broker', '--data', dataDir(), '--mqtt-port', String(port), '--log-level', 'silent'], { timeout: 10_000 })
      .then(() => ({ code: 0, stderr: '' }), (error: { code?: number; stderr?: string; killed?: boolean }) => ({ code: error.killed === true ? 'killed' : error.code, stderr: error.stderr ?? '' }));
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('the port is already in use');
    expect(failed.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
