// Bundles test/helpers/agent-child.ts for `node`, the way the product is shipped (esbuild,
// dependencies external). The output sits under node_modules so its imports of mqtt, zod and
// better-sqlite3 resolve from the project's node_modules.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const OUT_DIR = join(process.cwd(), 'node_modules', '.cache', 'mqpay-agent-tests');

export function buildAgentChild(): Promise<string> {
  return buildTestChild('agent-child');
}

/** Bundles test/helpers/NAME.ts the same way (other child processes of tests); returns the script's path. */
export async function buildTestChild(name: string): Promise<string> {
  mkdirSync(OUT_DIR, { recursive: true });
  const outfile = join(OUT_DIR, `${name}-${process.pid}.mjs`);
  await build({ entryPoints: [join(process.cwd(), 'test', 'helpers', `${name}.ts`)], outfile, bundle: true, platform: 'node', format: 'esm', packages: 'external', logLevel: 'warning' });
  return outfile;
}

export interface ChildRun {
  readonly child: ChildProcess;
  readonly lines: string[];
  /** Resolves with the first stdout line matching, rejects if the child exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function runAgentChild(script: string, args: readonly string[]): ChildRun {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  let buffer = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
    for (const listener of listeners) listener();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const waitFor = (pattern: RegExp, timeoutMs = 10_000) => new Promise<string>((resolve, reject) => {
    const check = () => {
      const line = lines.find((candidate) => pattern.test(candidate));
      if (line === undefined) return;
      listeners.delete(check);
      clearTimeout(timer);
      resolve(line);
    };
    const timer = setTimeout(() => reject(new Error(`child printed no ${pattern} within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
    listeners.add(check);
    exited.then(() => setImmediate(() => {
      if (!listeners.has(check)) return;
      listeners.delete(check);
      clearTimeout(timer);
      reject(new Error(`child exited before printing ${pattern}; stdout: ${lines.join(' | ')}; stderr: ${stderr}`));
    }));
    check();
  });
  return { child, lines, waitFor, exited };
}
