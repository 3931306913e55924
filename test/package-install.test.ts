// The package as an integrator gets it: `npm pack`, installed in an empty project, and a device
// program importing `mqpay/agent` and `mqpay/protocol` type-checks against the shipped
// declarations and pays through a real broker. Dependencies come from the npm cache
// (--prefer-offline); better-sqlite3's native addon is the one this checkout built (same Node).
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { initAgentHome } from '../agent/home/home.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { parseAmount } from '../shared/amount.js';
import { fromHex } from '../shared/hex.js';
import { PROTOCOL_VERSION } from '../shared/schemas.js';
import { random, startBroker, tempDir } from './helpers/broker-fixture.js';

const run = promisify(execFile);
const ROOT = resolve('.');
const work = tempDir('mqpay-pack-');
afterAll(() => work.remove());

describe('the packed package', () => {
  it('installs, type-checks an integrator program against mqpay/agent and mqpay/protocol, and the program pays', async () => {
    // Declarations into dist/types (what prepack does); the bundles are already built by global-setup.
    await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.types.json'], { cwd: ROOT });
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work.path], { cwd: ROOT });
    const [{ filename, files }] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
    const shipped = files.map((file) => file.path);
    expect(shipped).toEqual(expect.arrayContaining(['dist/agent.js', 'dist/protocol.js', 'dist/mqpay.js', 'dist/types/agent/index.d.ts', 'dist/types/shared/index.d.ts']));

    const app = join(work.path, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'integrator', private: true, type: 'module' }));
    await run('npm', ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', join(work.path, filename)], { cwd: app });
    const addon = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
    mkdirSync(join(app, 'node_modules/better-sqlite3/build/Release'), { recursive: true });
    copyFileSync(join(ROOT, addon), join(app, addon));

    copyFileSync(join(ROOT, 'examples/agent-library/pay.ts'), join(app, 'pay.ts'));
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2023', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, outDir: 'out', typeRoots: [join(ROOT, 'node_modules/@types')], types: ['node'] },
      files: ['pay.ts'],
    }));
    const compiled = await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: app }).catch((error: { stdout: string }) => ({ stdout: error.stdout, failed: true }));
    expect(compiled.stdout).toBe('');

    const broker = await startBroker();
    try {
      const home = join(work.path, 'home');
      const created = initAgentHome({ home, config: { v: 1, device: 'lib-car', brokerId: broker.app.config.brokerId, servicePublicKey: broker.app.servicePublicKeyHex }, random });
      await broker.app.service.enrol('lib-car', created.keys.publicKey);
      await broker.app.service.fund('lib-car', parseAmount('5'), 'lib-car-grant');
      broker.enrol('charger-1');
      const paid = await run(process.execPath, [join(app, 'out/pay.js'), home, broker.url, 'charger-1', '0.25'], { cwd: app });
      const result = JSON.parse(paid.stdout) as { protocol: number; payee: string; amount: string; seq: string };
      expect(result).toEqual({ protocol: PROTOCOL_VERSION, payee: 'charger-1', amount: '0.25', seq: '1' });
      const channels = broker.app.db.prepare("SELECT id FROM channels WHERE payer = 'lib-car'").all() as { id: Buffer }[];
      expect(channels).toHaveLength(1);
      expect(getChannel(broker.app.db, fromHex(Buffer.from(channels[0]?.id ?? []).toString('hex')))).toMatchObject({ latestSeq: 1n, latestTotal: 250_000n });
    } finally {
      await broker.stop();
    }
  }, 180_000);
});
