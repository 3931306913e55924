// Runs copies of test/helpers/leader-child.ts, bundled like the agent's child (agent-child-build.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { buildTestChild } from './agent-child-build.js';

export const buildLeaderChild = (): Promise<string> => buildTestChild('leader-child');

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
