// Bundles test/helpers/leader-child.ts for `node` (esbuild, dependencies external, so `pg`
// resolves from the project's node_modules) and runs copies of it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const OUT_DIR = join(process.cwd(), 'node_modules', '.cache', 'mqpay-leader-tests');

export async function buildLeaderChild(): Promise<string> {
  mkdirSync(OUT_DIR, { recursive: true });
  const outfile = join(OUT_DIR, `leader-child-${process.pid}.mjs`);
  await build({ entryPoints: [join(process.cwd(), 'test', 'helpers', 'leader-child.ts')], outfile, bundle: true, platform: 'node', format: 'esm', packages: 'external', logLevel: 'warning' });
  return outfile;
}

/** Starts one child; `first` resolves with its first stdout line (rejects if it exits first). */
export function runLeaderChild(script: string, url: string): { child: ChildProcess; first: Promise<string>; exited: Promise<void> } {
  const child = spawn(process.execPath, [script, url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const first = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`leader child exited (${code}) before a line: ${stderr}`)));
  });
  return { child, first, exited };
}
