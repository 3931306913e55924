// The simulator's folders are floors: a file imports only from its own floor or the floors
// below it, so the plan knows nothing of brokers, actors nothing of the runner, and only the
// commands import the runner. Read from the import lines of the source, like a reviewer would;
// a circle among simulator files (which the floors rule out) is reported with its path.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Bottom to top. */
const FLOORS = ['plan', 'world', 'actors', 'attacks', 'verdict', 'run', 'commands'] as const;
const SIMULATOR = resolve('simulator');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The simulator files a file imports (static and type imports alike), as absolute paths. */
function simulatorImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/\bfrom\s+'(\.{1,2}\/[^']+)'/g)].map((match) => match[1] ?? '');
  return specifiers
    .map((specifier) => resolve(dirname(file), specifier.replace(/\.js$/, '.ts')))
    .filter((path) => path.startsWith(`${SIMULATOR}/`));
}

const floorOf = (file: string): string => relative(SIMULATOR, file).split('/')[0] ?? '';
const files = sourceFiles(SIMULATOR);
const graph = new Map(files.map((file) => [file, simulatorImports(file)]));

function findCircle(): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): string[] | null => {
    if (state.get(file) === 'done') return null;
    if (state.get(file) === 'open') return [...path.slice(path.indexOf(file)), file];
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const circle = visit(next);
      if (circle !== null) return circle;
    }
    path.pop();
    state.set(file, 'done');
    return null;
  };
  for (const file of files) {
    const circle = visit(file);
    if (circle !== null) return circle.map((f) => relative(SIMULATOR, f));
  }
  return null;
}

describe('simulator layout', () => {
  it('every simulator file lives on a floor, and every import resolves to a file that exists', () => {
    expect(files.length).toBeGreaterThan(30);
    for (const file of files) expect(FLOORS, relative(SIMULATOR, file)).toContain(floorOf(file));
    for (const [file, imports] of graph) for (const target of imports) expect(files, `${relative(SIMULATOR, file)} imports ${target}`).toContain(target);
  });

  it('imports only go down: no floor imports a floor above it', () => {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      for (const target of imports) {
        if (FLOORS.indexOf(floorOf(target) as never) > FLOORS.indexOf(floorOf(file) as never)) upward.push(`${relative(SIMULATOR, file)} -> ${relative(SIMULATOR, target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('no circle of imports among simulator files', () => {
    expect(findCircle()).toBeNull();
  });

  it('only the commands import the runner', () => {
    const runner = join(SIMULATOR, 'run', 'run.ts');
    const callers = [...graph].filter(([, imports]) => imports.includes(runner)).map(([file]) => floorOf(file));
    expect(new Set(callers)).toEqual(new Set(['commands']));
  });
});
