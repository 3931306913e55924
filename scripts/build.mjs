// Builds the `mqpay` command into dist/. Runs on `npm install` (prepare) so a fresh clone has a
// working bin. Dependencies stay external: they are installed beside it, and better-sqlite3 is a
// native addon that cannot be bundled.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';

await build({
  entryPoints: ['bin/mqpay.ts'],
  outfile: 'dist/mqpay.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  banner: { js: '#!/usr/bin/env node' },
  sourcemap: true,
  logLevel: 'warning',
});
chmodSync('dist/mqpay.js', 0o755);
