// The device's code is lean (scripts/build.mjs, bin/mqpay.ts): the agent library dist/agent.js
// stays under 300,000 bytes, and neither it nor the entry `mqpay agent ...` runs from
// (dist/mqpay-agent.js) holds broker, operator, simulator or dashboard code or the broker's
// dependencies. Each bundle's source map lists every module in it. The bin loads the lean
// entry for `mqpay agent` without the full CLI even being there. Built by test/global-setup.ts.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/broker-fixture.js';

/** Agent library size goal (issue 13): under 300 KB, counted in bytes. */
const AGENT_BUNDLE_BYTES_MAX = 300_000;
const NOT_ON_A_DEVICE = /(^|\/)(broker|simulator|bench)\/|node_modules\/(aedes|prom-client|ws|playwright-core)\//;

const modulesOf = (bundle: string): string[] => (JSON.parse(readFileSync(`${bundle}.map`, 'utf8')) as { sources: string[] }).sources;

const dir = tempDir('mqpay-lean-');
afterAll(() => dir.remove());

function runBin(bin: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [bin, ...args], (error, stdout, stderr) => done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr }));
  });
}

describe('the agent bundles', () => {
  it(`dist/agent.js is under ${AGENT_BUNDLE_BYTES_MAX} bytes`, () => {
    expect(statSync('dist/agent.js').size).toBeLessThan(AGENT_BUNDLE_BYTES_MAX);
  });

  it('neither the library nor the `mqpay agent` entry holds broker, simulator or bench code, or the broker\'s dependencies', () => {
    for (const bundle of ['dist/agent.js', 'dist/mqpay-agent.js']) {
      const modules = modulesOf(bundle);
      expect(modules.some((source) => source.includes('agent/agent.ts')), bundle).toBe(true);
      expect(modules.filter((source) => NOT_ON_A_DEVICE.test(source)), bundle).toEqual([]);
    }
    // The entry holds the agent's commands, not the others.
    expect(modulesOf('dist/mqpay-agent.js').some((source) => source.includes('agent/commands/run-command.ts'))).toBe(true);
    expect(modulesOf('dist/mqpay.js').filter((source) => !source.includes('bin/mqpay.ts'))).toEqual([]);
  });

  it('`mqpay agent` runs from the lean entry alone: the full CLI need not be there', async () => {
    mkdirSync(join(dir.path, 'dist'));
    for (const file of ['mqpay.js', 'mqpay-agent.js']) copyFileSync(join('dist', file), join(dir.path, 'dist', file));
    symlinkSync(resolve('node_modules'), join(dir.path, 'node_modules'));
    const bin = join(dir.path, 'dist', 'mqpay.js');
    const agent = await runBin(bin, ['agent', 'run', '--help']);
    expect(agent.stderr).toBe('');
    expect(agent).toMatchObject({ code: 0, stdout: expect.stringContaining('usage: mqpay agent run') });
    const broker = await runBin(bin, ['broker', '--help']);
    expect(broker.code).toBe(1);
    expect(broker.stderr).toContain('mqpay-cli.js');
  });
});
