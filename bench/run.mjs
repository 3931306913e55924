// `npm run bench`: bundles each bench/*.bench.ts (and the workers they start) with esbuild into
// .bench-out/ and runs them one after another, so figures in one report come from one run.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readdirSync, mkdirSync } from 'node:fs';

const only = process.argv.slice(2);
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
for (const file of entries.filter((f) => f.endsWith('.bench.ts'))) {
  const name = file.replace(/\.bench\.ts$/, '');
  if (only.length > 0 && !only.includes(name)) continue;
  console.log(`\n=== ${name} ===`);
  execFileSync(process.execPath, ['--expose-gc', `.bench-out/${name}.bench.mjs`], { stdio: 'inherit' });
}
