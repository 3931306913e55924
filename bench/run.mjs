// `npm run bench [-- NAME...] [-- --json]`: bundles each bench/*.bench.ts (and the workers they
// start, bench/*-worker.ts) with esbuild into .bench-out/ and runs them one after another, so
// figures in one report come from one run.
//
// The convention every bench file follows (so a new one is included without touching this file):
// - it is named bench/NAME.bench.ts and runs to completion on its own;
// - it prints what people read first, then, as the LAST line of its stdout, one JSON object
//   `{ "bench": "NAME", "figures": { "key": { "value", "unit", "reference"?, "goal"? } } }`
//   (`printFigures` in bench/figures.ts writes it); `reference` says what a figure is measured
//   against, `goal` is `>= x`, `<= x`, `> x` or `< x` and is checked here;
// - a last line in an older shape (a flat JSON object or array) is kept as `raw`.
// Without --json the benches' output is shown as it comes, then a goals summary. With --json
// their output goes to stderr and stdout gets ONE JSON object: the date, the core count, every
// bench's figures and the goals, each met or not.
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { readdirSync, mkdirSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';

const args = process.argv.slice(2);
const json = args.includes('--json');
const only = args.filter((arg) => arg !== '--json');
const entries = readdirSync('bench').filter((file) => file.endsWith('.bench.ts') || file.endsWith('-worker.ts'));
mkdirSync('.bench-out', { recursive: true });
await build({
  entryPoints: entries.map((file) => `bench/${file}`),
  outdir: '.bench-out',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});

/** Runs one bench, echoing its output (to stderr under --json); resolves with its stdout. */
function runBench(name) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', `.bench-out/${name}.bench.mjs`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      (json ? process.stderr : process.stdout).write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`bench ${name} exited with ${code}`))));
  });
}

/** The figures of a bench's last stdout line (see the convention above). */
function figuresOf(out) {
  const last = out.trim().split('\n').pop() ?? '';
  try {
    const parsed = JSON.parse(last);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && 'figures' in parsed) return { figures: parsed.figures };
    return { raw: parsed };
  } catch {
    return { raw: null };
  }
}

function meetsGoal(value, goal) {
  const match = /^(>=|<=|>|<)\s*(-?[\d.]+)$/.exec(String(goal).trim());
  if (match === null || typeof value !== 'number') return null;
  const bound = Number(match[2]);
  return { '>=': value >= bound, '<=': value <= bound, '>': value > bound, '<': value < bound }[match[1]];
}

const report = { date: new Date().toISOString(), cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', node: process.version, benches: {}, goals: [] };
for (const file of entries.filter((f) => f.endsWith('.bench.ts'))) {
  const name = file.replace(/\.bench\.ts$/, '');
  if (only.length > 0 && !only.includes(name)) continue;
  (json ? process.stderr : process.stdout).write(`\n=== ${name} ===\n`);
  const result = figuresOf(await runBench(name));
  report.benches[name] = result;
  for (const [key, figure] of Object.entries(result.figures ?? {})) {
    if (figure.goal !== undefined) report.goals.push({ bench: name, figure: key, value: figure.value, goal: figure.goal, reference: figure.reference, met: meetsGoal(figure.value, figure.goal) });
  }
}
if (json) console.log(JSON.stringify(report, null, 2));
else {
  console.log(`\n=== goals (${report.date}, ${report.cores} cores) ===`);
  for (const goal of report.goals) console.log(`${goal.met ? 'met    ' : 'NOT met'} ${goal.bench}.${goal.figure} = ${goal.value} (goal ${goal.goal}; ${goal.reference ?? ''})`);
}
