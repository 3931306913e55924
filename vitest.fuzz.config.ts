// `npm run fuzz`: the long fuzz runs under test/fuzz/ (*.fuzz.ts), outside `npm test`.
// One file at a time in a forked child with --expose-gc, so heap measurements can force a GC.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/fuzz/**/*.fuzz.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 1,
    execArgv: ['--expose-gc'],
  },
});
